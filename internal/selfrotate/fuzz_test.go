package selfrotate

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadStates: any state file either loads or is refused with an
// error; what loads is saved and loaded back the same.
func FuzzLoadStates(f *testing.F) {
	f.Add([]byte(`{"work":{"user":"alice","old_key_id":"AKIAOLD","new_key_id":"AKIANEW","switched_at":"2026-01-02T03:04:05Z","old_last_used":"never"}}`))
	f.Add([]byte(`{"work":{"user":"alice","pending_since":"2026-01-02T03:04:05Z","before":["AKIAOLD"],"created_key_id":"AKIANEW"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "credentials.keyrot-self.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := loadStates(path)
		if err != nil {
			return
		}
		for prof, st := range m {
			if st.User == "" {
				continue
			}
			if err := saveState(path, prof, st); err != nil {
				t.Fatalf("save what loaded: %v", err)
			}
			again, err := loadStates(path)
			if err != nil {
				t.Fatalf("load what was saved: %v", err)
			}
			if got := again[prof]; got.User != st.User || got.NewKey != st.NewKey || !got.SwitchedAt.Equal(st.SwitchedAt) {
				t.Fatalf("round trip of %q: %+v, was %+v", prof, got, st)
			}
			return
		}
	})
}
