"""Private parts of the safetensors reader: header parser, files, evidence, schemes."""
