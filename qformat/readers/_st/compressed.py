"""stub"""


def detect_compressed(d):
    return None


def detect_scaled_weight(d):
    return None
