"""Private helpers of the TFLite reader: a bounded flatbuffer walker and the schema subset."""
