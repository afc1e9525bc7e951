package policy

import _ "embed"

//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema of keyrot.yaml, for editors.
func Schema() []byte { return append([]byte(nil), schemaJSON...) }
