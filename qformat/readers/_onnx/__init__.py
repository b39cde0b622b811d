"""Private parts of the ONNX reader: tensor decoding, safe external data, graph analysis.

Only :mod:`qformat.readers.onnx` imports this package; everything here may change.
"""
