"""Reading one answer: normalise -> tokenise -> parse (dropping units) -> a typed syntax tree.

Why a bounded reader of our own: model output is untrusted, so nothing calls ``eval``,
``sympify`` or ``parse_expr``, and every stage is bounded by :mod:`ttrl_math.limits`.  The
stages live in one module each; this module is their entry point:

* :mod:`ttrl_math.normalise`  string clean-up, wrappers, degree / percent signs;
* :mod:`ttrl_math.tokenise`   tokens and the command tables;
* :mod:`ttrl_math.parse`      the grammar, producing :mod:`ttrl_math.nodes`;
* :mod:`ttrl_math.units`      trailing units (dropped for the value, read for grading).
"""

from __future__ import annotations

from ttrl_math.nodes import Node, ParseError
from ttrl_math.normalise import Signs, normalise, strip_wrappers
from ttrl_math.parse import parse
from ttrl_math.tokenise import Token, tokenize
from ttrl_math.units import unit_of

__all__ = ["Node", "ParseError", "Signs", "Token", "normalise", "parse", "strip_wrappers", "tokenize", "unit_of"]
