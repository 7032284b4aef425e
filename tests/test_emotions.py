"""emogan.emotions: the order every label array indexes, and the asked-for emotions of a conditional grid."""

from emogan.emotions import EMOTIONS, asked_hits, asked_in_turn


def test_grid_faces_are_asked_for_the_emotions_in_turn():
    assert asked_in_turn(9) == [*EMOTIONS, "angry", "disgust"]
    assert asked_hits(["angry", "happy", "fear"]) == 2 and asked_hits([]) == 0
