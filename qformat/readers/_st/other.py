"""stub"""


def detect_exl2(d):
    return None


def detect_spqr(d):
    return None


def detect_marlin(d):
    return None


def detect_eetq(d):
    return None
