"""stub"""


def detect_aqlm(d):
    return None
