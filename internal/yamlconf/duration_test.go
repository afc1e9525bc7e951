package yamlconf

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"90d", 90 * day, false},
		{"2160h", 2160 * time.Hour, false},
		{"2w", 14 * day, false},
		{"1.5d", 36 * time.Hour, false},
		{"0.5w", 84 * time.Hour, false},
		{"36h", 36 * time.Hour, false},
		{" 15m ", 15 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"0d", 0, false},
		{"0", 0, false},
		{"ninety", 0, true},
		{"", 0, true},
		{"-1d", 0, true},
		{"-2w", 0, true},
		{"-5h", 0, true},
		{"NaNd", 0, true},
		{"Infw", 0, true},
		{"1e300d", 0, true},
		{"0x10d", 0, true},
		{"1_0d", 0, true},
		{"d", 0, true},
		{"w", 0, true},
		{"2 w", 0, true},
		{"90D", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDurationText(t *testing.T) {
	for in, want := range map[string]string{"90d": "90d", "2160h": "90d", "36h": "36h0m0s", "2w": "14d", "0s": "0d"} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err != nil {
			t.Fatalf("UnmarshalText(%q): %v", in, err)
		}
		b, _ := d.MarshalText()
		if string(b) != want {
			t.Errorf("%q round-trips to %q, want %q", in, b, want)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("UnmarshalText accepted soon")
	}
	if d := Duration(50 * time.Hour); d.Days() != 2 || d.WholeDays() || !Duration(48*time.Hour).WholeDays() {
		t.Errorf("Days/WholeDays of %v", d)
	}
}

// FuzzParseDuration checks that ParseDuration never panics or returns a
// negative duration, and that what String prints parses back to the same.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90d", "2w", "1.5d", "36h", "1h30m", "0", "-1d", "1e300d", "NaNd", ".5w", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", s, d)
		}
		text := Duration(d).String()
		back, err := ParseDuration(text)
		if err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %v, printed %q, which parses to %v, %v", s, d, text, back, err)
		}
	})
}
