"""yaml2json.py -- prints the YAML documents of the files named on the command line as one JSON array of
{"file": ..., "docs": [...]}, for the Node tests (Debian's python3-yaml; the tests add no npm package).
Exits 1 with the parser's message when a file is not valid YAML."""
import json
import sys

import yaml

out = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        try:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            sys.stderr.write(f"{path}: {e}\n")
            sys.exit(1)
    out.append({"file": path, "docs": docs})
json.dump(out, sys.stdout)
