"""One generation step of 4 prompts x 4 completions for the multi-process reward tests."""

_GROUPS = {
    "a": (["so \\boxed{7}", "7", "I think 8", "The answer is 7"], "7"),
    "b": (["5", "\\boxed{6}", "6", "no idea"], "5"),
    "c": (["1", "2", "3", "4"], "4"),           # a four-way tie: the first class wins
    "d": (["", "nothing", "9", "9"], "9"),       # abstentions never vote
}
# TRL order: each prompt's completions consecutive; the rank split below cuts groups apart.
STEP = [{"id": gid, "prompt": f"question {gid}", "completion": c, "answer": gold}
        for gid, (comps, gold) in _GROUPS.items() for c in comps]
for _i, _row in enumerate(STEP):
    _row["i"] = _i


def split_for(rank: int, world: int) -> list[dict]:
    """Uneven contiguous slices (7 + 9 rows for 2 ranks): groups b straddles the ranks."""
    cut = [0, 7, len(STEP)] if world == 2 else [0, len(STEP)]
    return STEP[cut[rank]:cut[rank + 1]]
