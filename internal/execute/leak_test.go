package execute

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/deliver"
)

// TestNoSecretLeaks: a rotation's logs, outcomes and history hold no
// secret, its deliveries (one written, one refused) included.
func TestNoSecretLeaks(t *testing.T) {
	w, d := deliveryWorld(t, twoDests)
	d.vault("vault:secret/app1").set(deliver.HTTPStatusError(403, ""), false)
	w.advance(90 * day)
	w.use("app1")
	var logs bytes.Buffer
	ex := w.executor(w.hist, "leak")
	ex.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, res, err := w.cycle(ex, Options{})
	if err != nil || res.Count(Succeeded) != 1 || len(res.Outcomes[0].Deliveries) != 2 {
		t.Fatalf("%v %+v", err, res)
	}
	cur, err := w.current("app1")
	if err != nil {
		t.Fatal(err)
	}
	secret := cur.Value.SecretAccessKey.Reveal()
	js, _ := json.Marshal(res)
	db, err := os.ReadFile(w.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(w.dbPath + "-wal")
	for name, s := range map[string]string{"logs": logs.String(), "outcomes": string(js), "outcomes %+v": fmt.Sprintf("%+v", res),
		"history": string(db) + string(wal), "secret value %+v": fmt.Sprintf("%+v", cur)} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contain the new secret access key", name)
		}
	}
	if logs.Len() == 0 {
		t.Error("nothing was logged")
	}
}
