"""stub"""


def detect_mlx(d):
    return None
