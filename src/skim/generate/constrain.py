"""Decoding constrained to a closed set of names: a prefix trie over their token ids.

For the queries-to-labels direction every useful synthetic text is a label name, so the
student may as well write only label names: each line of the completion follows one path of
the trie from its root to a complete name, then a newline starts the next line (or the end
token closes the completion). A name written is then always mapped exactly; what the
constraint cannot fix is a wrong choice among real names.

The trie's tokens are also the only ones the model can write, so :func:`skim.generate.decode`
projects onto them alone (:meth:`LabelTrie.vocabulary`), which makes constrained decoding cheaper
than free decoding and gives the same tokens as masking the full vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence

_NAME_ENDS = -1  # key in a trie node: a complete name ends here


class LabelTrie:
    """The token sequences of ``names``, walked one token at a time per row of a batch.

    A state is a trie node (a dict); :meth:`allowed` lists the token ids that may follow it
    and :meth:`advance` moves along the token written.
    """

    def __init__(self, names: Sequence[Sequence[int]], newline: int, ends: Sequence[int]):
        self.root: dict = {}
        for tokens in names:
            if not tokens:
                continue
            node = self.root
            for token in tokens:
                node = node.setdefault(int(token), {})
            node[_NAME_ENDS] = True
        self.newline = int(newline)
        self.ends = [int(e) for e in ends]

    @classmethod
    def from_texts(cls, tokenizer, names: Sequence[str], ends: Sequence[int]) -> LabelTrie:
        """The trie of ``names`` as ``tokenizer`` writes them at the start of a line."""
        newline = tokenizer("\n", add_special_tokens=False)["input_ids"]
        if len(newline) != 1:
            from skim.errors import SkimError

            raise SkimError("constrained decoding needs a tokenizer with a newline token")
        rows = tokenizer([" ".join(n.split()) for n in names], add_special_tokens=False)
        return cls(rows["input_ids"], newline[0], ends)

    def vocabulary(self) -> list[int]:
        """Every token id the constraint can allow, sorted."""
        seen, stack = {self.newline, *self.ends}, [self.root]
        while stack:
            node = stack.pop()
            for key, child in node.items():
                if key != _NAME_ENDS:
                    seen.add(key)
                    stack.append(child)
        return sorted(seen)

    def start(self) -> dict:
        return self.root

    def allowed(self, node: dict) -> list[int]:
        """Token ids that may follow: a name's next token, or a newline/end after a full name."""
        ids = [key for key in node if key != _NAME_ENDS]
        if node.get(_NAME_ENDS):
            ids.append(self.newline)
        if node.get(_NAME_ENDS) or node is self.root:
            ids.extend(self.ends)  # the root: no (more) names at all
        return ids

    def complete(self, node: dict) -> bool:
        """Whether a row stopped in ``node`` holds whole names only (nothing half written)."""
        return node is self.root or bool(node.get(_NAME_ENDS))

    def trim(self, tokens: list[int], node: dict) -> list[int]:
        """``tokens`` without a name cut off by the token budget (after the last newline)."""
        if self.complete(node):
            return tokens
        cut = max((i for i, t in enumerate(tokens) if t == self.newline), default=-1)
        return tokens[: cut + 1]

    def advance(self, node: dict, token: int) -> dict:
        """The state after ``token``; a newline goes back to the root for the next name."""
        if token == self.newline:
            return self.root
        return node.get(int(token), {})
