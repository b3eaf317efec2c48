"""Stage 3 of reading an answer: tokens -> a typed syntax tree (:mod:`ttrl_math.nodes`).

Why our own grammar: model output is untrusted, so nothing here calls ``eval``, ``sympify`` or
``parse_expr``; the grammar is tiny (the answer forms of competition math, not all of LaTeX),
recursion is bounded by ``limits.MAX_DEPTH`` and every list by ``limits.MAX_ELEMENTS``.
"""

from __future__ import annotations

from fractions import Fraction

from ttrl_math import limits
from ttrl_math import nodes as nd
from ttrl_math.nodes import Node, ParseError
from ttrl_math.tokenise import (
    CONNECTORS,
    FUNCTIONS,
    KNOWN_CMDS,
    OP_CMDS,
    SYMBOL_CMDS,
    TEXT_CMDS,
    WRAP_CMDS,
    Token,
    TokenStream,
    read_group_text,
    tokenize,
)
from ttrl_math.units import drop_units

RELOPS = {"=", "<", ">", "<=", ">=", "!=", "~", "in"}
ATOM_START_CMDS = (
    {"frac", "sqrt", "binom", "dbinom", "tbinom", "begin", "{", "|"}
    | set(SYMBOL_CMDS)
    | FUNCTIONS
    | TEXT_CMDS
    | WRAP_CMDS
)
FUNC_LETTERS = set("fgh") | {"F", "G", "H", "P", "Q", "W"}
MATRIX_ENVS = ("pmatrix", "bmatrix", "matrix", "vmatrix", "Bmatrix", "array", "smallmatrix")


def parse(s: str) -> Node:
    """Parse a normalised answer string into a syntax tree (raises :class:`ParseError`)."""
    if len(s) > limits.MAX_ANSWER_CHARS:
        raise ParseError("answer too long")
    tokens = drop_units(tokenize(s))
    if not tokens:
        raise ParseError("empty")
    return Parser(tokens).parse()


class Parser(TokenStream):
    """Recursive descent, loosest first: connectors (and / or), ``;``, ``,``, relations, ``:``,
    ``\\cup``, ``+ -``, products (explicit and implicit), powers, postfix (``!``, ``'``, ``_``), atoms."""

    # -- grammar
    def parse(self) -> Node:
        node = self.conn_list()
        tok = self.peek()
        if tok is not None:
            raise ParseError(f"trailing input at {tuple(tok)!r}")
        return node

    def is_connector(self) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        if tok.kind == "word" and tok.text.lower() in CONNECTORS:
            return True
        if tok.kind == "cmd" and OP_CMDS.get(tok.text) in CONNECTORS:
            return True
        if tok.kind == "cmd" and tok.text in TEXT_CMDS:
            text, _ = read_group_text(self.t, self.i + 1)
            return text.strip().strip(",").strip().lower() in CONNECTORS | {""} and text.strip() != ""
        return False

    def skip_connector(self) -> None:
        tok = self.next()
        if tok.kind == "cmd" and tok.text in TEXT_CMDS:
            _, self.i = read_group_text(self.t, self.i)

    def conn_list(self) -> Node:
        items = [self.semi_list()]
        how = None
        while self.is_connector() or (self.at_op(",") and self._connector_after_comma()):
            if self.at_op(","):
                self.next()
            self.skip_connector()
            if self.at_op(","):
                self.next()
            how = "conn"
            items.append(self.semi_list())
        if how is None:
            return items[0]
        flat: list[Node] = []
        for it in items:
            # "1, 2 and 3" is one list; "p=5, q=2 and p=7, q=2" is two groups of assignments
            if isinstance(it, nd.ListOf) and not (it.how == "comma" and any(isinstance(x, nd.Rel) for x in it.items)):
                flat.extend(it.items)
            else:
                flat.append(it)
        return nd.ListOf(tuple(flat), "conn")

    def _connector_after_comma(self) -> bool:
        save = self.i
        self.i += 1
        ok = self.is_connector()
        self.i = save
        return ok

    def semi_list(self) -> Node:
        items = [self.comma_list()]
        while self.at_op(";"):
            self.next()
            if self.peek() is None:
                break
            items.append(self.comma_list())
        return items[0] if len(items) == 1 else nd.ListOf(tuple(items), "semi")

    def comma_list(self) -> Node:
        items = [self.relation()]
        while self.at_op(",") and not self._connector_after_comma():
            self.next()
            if self.peek() is None or self.at_op(";"):
                break
            items.append(self.relation())
            if len(items) > limits.MAX_ELEMENTS:
                raise ParseError("too many elements")
        return items[0] if len(items) == 1 else nd.ListOf(tuple(items), "comma")

    def relation(self) -> Node:
        exprs = [self.ratio()]
        ops: list[str] = []
        while True:
            tok = self.peek()
            if tok is None:
                break
            op = tok.text if tok.kind == "op" else OP_CMDS.get(tok.text) if tok.kind == "cmd" else None
            if op not in RELOPS:
                break
            self.next()
            ops.append(op)
            exprs.append(self.ratio())
        return exprs[0] if not ops else nd.Rel(tuple(ops), tuple(exprs))

    def ratio(self) -> Node:
        parts = [self.union()]
        while self.at_op(":"):
            self.next()
            parts.append(self.union())
        return parts[0] if len(parts) == 1 else nd.Ratio(tuple(parts))

    def union(self) -> Node:
        parts = [self.additive()]
        while self.at_op("cup"):
            self.next()
            parts.append(self.additive())
        return parts[0] if len(parts) == 1 else nd.UnionOf(tuple(parts))

    def _sign(self, tok: Token) -> str:
        return tok.text if tok.kind == "op" else OP_CMDS[tok.text]

    def additive(self) -> Node:
        self.enter()
        try:
            sign = None
            if self.at_op("+", "-", "pm", "mp"):
                sign = self.next()
            node = self.term()
            if sign is not None:
                s = self._sign(sign)
                if s == "-":
                    node = nd.Neg(node)
                elif s in ("pm", "mp"):
                    node = nd.PlusMinus(nd.ZERO, node)
            terms = [node]
            while self.at_op("+", "-", "pm", "mp"):
                s = self._sign(self.next())
                rhs = self.term()
                if s == "+":
                    terms.append(rhs)
                elif s == "-":
                    terms.append(nd.Neg(rhs))
                else:
                    left = terms[0] if len(terms) == 1 else nd.Add(tuple(terms))
                    terms = [nd.PlusMinus(left, rhs)]
            return terms[0] if len(terms) == 1 else nd.Add(tuple(terms))
        finally:
            self.depth -= 1

    def starts_atom(self) -> bool:
        tok = self.peek()
        if tok is None or self.is_connector():
            return False
        kind, val = tok
        if kind == "num":
            return True
        if kind == "word":
            return val.lower() not in CONNECTORS
        if kind == "op":
            return val in ("(", "[", "{")
        if kind == "cmd":
            return val in ATOM_START_CMDS or val in ("{", "lfloor", "lceil", "langle")
        return False

    def term(self) -> Node:
        factors = [self.power()]
        while True:
            if self.at_op("*"):
                self.next()
                factors.append(self.power())
            elif self.at_op("/"):
                self.next()
                den = self.power()
                num = factors[0] if len(factors) == 1 else nd.Mul(tuple(factors))
                factors = [nd.Div(num, den)]
            elif self.starts_atom():
                nxt = self.peek()
                if nxt is not None and nxt.kind == "num" and factors and isinstance(factors[-1], nd.Num):
                    raise ParseError("two numbers in a row")
                factors.append(self.power())
            else:
                break
            if len(factors) > limits.MAX_ELEMENTS:
                raise ParseError("too many factors")
        return factors[0] if len(factors) == 1 else nd.Mul(tuple(factors))

    def power(self) -> Node:
        base = self.postfix()
        if self.at_op("^"):
            self.next()
            if self.at_op("-", "+"):
                sign = self.next().text
                e = self.postfix()
                exp = nd.Neg(e) if sign == "-" else e
            else:
                exp = self.postfix(single=True)
            base = nd.Pow(base, exp)
            while self.at_op("!"):
                self.next()
                base = nd.Fact(base)
        return base

    def postfix(self, single: bool = False) -> Node:
        node = self.atom(single=single)
        while True:
            if self.at_op("!"):
                self.next()
                node = nd.Fact(node)
            elif self.at_op("'"):
                self.next()
                node = nd.Sym(nd.sym_name(node) + "'")
            elif self.at_op("_"):
                self.next()
                sub = self.atom(single=True)
                if isinstance(node, nd.Num) and isinstance(sub, nd.Num):
                    node = nd.Base(node, sub)
                elif isinstance(node, nd.Fn) and node.name == "log":
                    node = nd.Fn("log_", (sub,))
                else:
                    node = nd.Sym(nd.sym_name(node) + "_" + nd.sub_text(sub))
            else:
                break
        return node

    def group(self, open_: str, close: str) -> Node:
        """``{ ... }`` braces used for grouping (a LaTeX argument)."""
        self.expect_op(open_)
        self.enter()
        try:
            if self.at_op(close):
                self.next()
                return nd.Empty()
            node = self.conn_list()
            self.expect_op(close)
            return node
        finally:
            self.depth -= 1

    def arg(self) -> Node:
        """A LaTeX macro argument: ``{...}`` or a single token (``\\frac12``)."""
        if self.at_op("{"):
            return self.group("{", "}")
        tok = self.next()
        if tok.kind == "num":
            rest = tok.text[1:]
            if rest:
                self.t.insert(self.i, Token("num", rest))
            return nd.Num(Fraction(int(tok.text[0])), None)
        if tok.kind == "word":
            if len(tok.text) > 1:
                self.t.insert(self.i, Token("word", tok.text[1:]))
            return nd.Sym(tok.text[0])
        if tok.kind == "cmd" and tok.text in SYMBOL_CMDS:
            return SYMBOL_CMDS[tok.text]
        raise ParseError("bad macro argument")

    def atom(self, single: bool = False) -> Node:
        kind, val = self.next()
        if kind == "num":
            return nd.number(val)
        if kind == "word":
            return self.word(val, single)
        if kind == "op":
            if val == "(":
                return self.bracketed("(")
            if val == "[":
                return self.bracketed("[")
            if val == "{":
                self.i -= 1
                return self.group("{", "}")
            if val == "|":
                self.enter()
                try:
                    inner = self.additive()
                    self.expect_op("|")
                finally:
                    self.depth -= 1
                return nd.Abs(inner)
            raise ParseError(f"unexpected {val!r}")
        if kind == "cmd":
            return self.command(val, single)
        raise ParseError("unexpected token")

    def bracketed(self, open_: str) -> Node:
        self.enter()
        try:
            items: list[Node] = []
            while True:
                if self.at_op(")", "]") and not items:
                    break
                items.append(self.relation())
                if len(items) > limits.MAX_ELEMENTS:
                    raise ParseError("too many elements")
                if self.at_op(",", ";"):
                    self.next()
                    continue
                break
            close = self.next()
            if close not in (("op", ")"), ("op", "]")) and not (close.kind == "cmd" and close.text == "rangle"):
                raise ParseError("unclosed bracket")
            c = ")" if close.text in (")", "rangle") else "]"
            if len(items) == 1:
                return items[0]  # "(x)", "[45]", "[\\begin{array}..]": one item is just grouping
            return nd.TupleOf(tuple(items), open_, c)
        finally:
            self.depth -= 1

    def word(self, val: str, single: bool) -> Node:
        low = val.lower()
        if low in FUNCTIONS:
            return self.function(low)
        if low in ("sqrt",):
            return self.command("sqrt", single)
        if low == "pi":
            return nd.Const("pi")
        if low in ("inf", "infinity", "infty"):
            return nd.Const("inf")
        if len(val) > 1:
            # a run of letters in math is a product of one-letter symbols ("xy", "AB");
            # single-letter splitting keeps "2xy" and "2yx" the same.
            if single:
                self.t.insert(self.i, Token("word", val[1:]))
                return nd.letter(val[0])
            return nd.Mul(tuple(nd.letter(c) for c in val))
        node = nd.letter(val)
        if val in FUNC_LETTERS and self.at_op("(") and not single:
            self.next()
            args = [] if self.at_op(")") else [self.relation()]
            while self.at_op(","):
                self.next()
                args.append(self.relation())
            self.expect_op(")")
            return nd.Fn("f:" + val, tuple(args))
        return node

    def function(self, name: str) -> Node:
        power = None
        base = None
        if name == "log" and self.at_op("_"):
            self.next()
            base = self.atom(single=True)
        if self.at_op("^"):
            self.next()
            power = self.postfix(single=True)
        if self.at_op("("):
            self.next()
            arg = self.conn_list()
            self.expect_op(")")
        elif self.at_op("{"):
            arg = self.group("{", "}")
        else:
            arg = self.power()
            if isinstance(arg, nd.Num) and (nxt := self.peek()) is not None and nxt.kind == "word":
                arg = nd.Mul((arg, self.power()))
        node: Node = nd.Fn(name, (arg,)) if base is None else nd.Fn("log_", (base, arg))
        return node if power is None else nd.Pow(node, power)

    def command(self, name: str, single: bool) -> Node:
        if name in SYMBOL_CMDS:
            return SYMBOL_CMDS[name]
        if name == "frac":
            a = self.arg()
            return nd.Div(a, self.arg())
        if name in ("binom", "dbinom", "tbinom"):
            a = self.arg()
            return nd.Binom(a, self.arg())
        if name == "sqrt":
            n = None
            if self.at_op("["):
                self.next()
                n = self.additive()
                self.expect_op("]")
            if self.at_op("("):
                # ``sqrt(3)`` / ``\\sqrt(3)`` (plain-text or Python style): the parenthesised radicand
                self.next()
                inner = self.additive()
                self.expect_op(")")
                return nd.Root(inner, n)
            return nd.Root(self.arg(), n)
        if name in FUNCTIONS:
            return self.function(name)
        if name in TEXT_CMDS:
            text, self.i = read_group_text(self.t, self.i)
            return nd.text_node(text)
        if name in WRAP_CMDS:
            return self.arg()
        if name == "{":
            return self.set_braces()
        if name in ("lfloor", "lceil"):
            inner = self.additive()
            tok = self.next()
            if tok.kind != "cmd" or tok.text not in ("rfloor", "rceil"):
                raise ParseError("unclosed floor")
            return nd.Fn(name[1:], (inner,))
        if name == "langle":
            return self.bracketed("(")
        if name == "begin":
            return self.environment()
        if name.isalpha() and name not in KNOWN_CMDS and len(name) <= 20:
            return nd.Sym("\\" + name)  # an unknown macro names something; compare by name
        raise ParseError(f"unsupported command \\{name}")

    def set_braces(self) -> Node:
        """``\\{ ... \\}``: a set."""
        self.enter()
        try:
            if self.at("cmd", "}"):
                self.next()
                return nd.SetOf(())
            inner = self.conn_list()
            if not self.at("cmd", "}"):
                raise ParseError("unclosed set")
            self.next()
        finally:
            self.depth -= 1
        return nd.SetOf(inner.items if isinstance(inner, nd.ListOf) else (inner,))

    def environment(self) -> Node:
        env, self.i = read_group_text(self.t, self.i)
        env = env.replace(" ", "")
        if env not in MATRIX_ENVS:
            raise ParseError(f"unsupported environment {env}")
        if env == "array" and self.at_op("{"):
            _, self.i = read_group_text(self.t, self.i)
        rows: list[list[Node]] = [[]]
        cells = 0
        while True:
            if self.at("cmd", "end"):
                self.next()
                _, self.i = read_group_text(self.t, self.i)
                break
            if self.at("cmd", "\\"):
                self.next()
                if not self.at("cmd", "end"):
                    rows.append([])
                continue
            if self.at_op("&"):
                self.next()
                continue
            rows[-1].append(self.additive())
            cells += 1
            if cells > limits.MAX_MATRIX_CELLS:
                raise ParseError("matrix too large")
        rows = [r for r in rows if r]
        if not rows or len({len(r) for r in rows}) != 1:
            raise ParseError("ragged matrix")
        return nd.Mat(tuple(tuple(r) for r in rows))
