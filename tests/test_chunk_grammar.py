"""The declared chunk grammar (nwcodec.bitstream.grammar) on known answers, and the weights grammar in the decoder."""
from __future__ import annotations

import pytest

from nwcodec.bitstream.grammar import Slot, check_order, describe
from nwcodec.codec.decoder import WEIGHTS_GRAMMAR
from nwcodec.errors import MalformedError

G = (Slot(("HEAD", "ZHDR"), 1, 1), Slot(("BASE",)), Slot(("TABL",), 0, None), Slot(("TENS",), 1, None))


def test_describe() -> None:
    assert describe(G) == "HEAD|ZHDR BASE? TABL* TENS+"
    assert describe(WEIGHTS_GRAMMAR) == "HEAD|ZHDR BASE? MTHD? TABL* TENS* ALIS?"


@pytest.mark.parametrize("types, counts", [
    (["HEAD", "TENS"], {"HEAD": 1, "TENS": 1}),
    (["ZHDR", "note", "BASE", "TABL", "TABL", "note", "TENS", "TENS", "TENS"],
     {"ZHDR": 1, "BASE": 1, "TABL": 2, "TENS": 3}),
])
def test_accepts(types, counts) -> None:
    assert check_order(types, G) == counts


@pytest.mark.parametrize("types, where", [
    ([], "expected HEAD|ZHDR at critical chunk 0, found the end"),
    (["TENS", "HEAD"], "expected HEAD|ZHDR at critical chunk 0, found TENS"),
    (["HEAD", "HEAD", "TENS"], "expected TENS+ at critical chunk 1, found HEAD"),
    (["HEAD", "BASE", "BASE", "TENS"], "expected TENS+ at critical chunk 2, found BASE"),
    (["HEAD", "TENS", "TABL"], "unexpected TABL at critical chunk 2"),
    (["HEAD", "TABL"], "expected TENS+ at critical chunk 2, found the end"),
])
def test_refuses_with_the_grammar_in_the_message(types, where) -> None:
    with pytest.raises(MalformedError, match="out of order") as e:
        check_order(types, G)
    assert where in str(e.value) and "HEAD|ZHDR BASE? TABL* TENS+" in str(e.value)
