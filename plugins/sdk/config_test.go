package sdk_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// settings is a plugin's configuration, with its defaults.
type settings struct {
	URL     string        `config:"url"`
	Secret  string        `config:"secret"`
	Timeout time.Duration `config:"timeout"`
	Port    int           `config:"port"`
	Verbose bool          `config:"verbose"`
	Brand   string        `config:"brand.name"`
}

func defaults() settings {
	return settings{URL: "https://default.example", Timeout: 10 * time.Second, Port: 587}
}

func TestDecodeConvertsEachKeyToItsField(t *testing.T) {
	got := defaults()
	err := sdk.ConfigureRequest{Config: map[string]string{
		"url": "https://hooks.example", "timeout": "1m30s", "port": "465", "verbose": "1", "brand.name": "Acme",
	}}.Decode(&got)
	if err != nil {
		t.Fatal(err)
	}
	want := settings{URL: "https://hooks.example", Timeout: 90 * time.Second, Port: 465, Verbose: true, Brand: "Acme"}
	if got != want {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
}

func TestDecodeKeepsDefaultsForAbsentAndEmptyKeys(t *testing.T) {
	for name, config := range map[string]map[string]string{
		"no configuration": nil,
		"absent keys":      {},
		"empty values":     {"url": "", "timeout": "", "port": "", "verbose": ""},
	} {
		t.Run(name, func(t *testing.T) {
			got := defaults()
			if err := (sdk.ConfigureRequest{Config: config}).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if got != defaults() {
				t.Fatalf("decoded %+v, want the defaults %+v", got, defaults())
			}
		})
	}
}

func TestDecodeRefusesNamingEveryBadKey(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]string
		want   []string
	}{
		{"a misspelt key", map[string]string{"url": "https://x", "timout": "5s"}, []string{`unknown key "timout"`}},
		{"an unknown key with an empty value", map[string]string{"colour": ""}, []string{`unknown key "colour"`}},
		{"a duration without a unit", map[string]string{"timeout": "10"}, []string{`"timeout": not a duration`}},
		{"a port that is not a number", map[string]string{"port": "smtp"}, []string{`"port": not a whole number`}},
		{"a flag that is not a boolean", map[string]string{"verbose": "yes please"}, []string{`"verbose": not true or false`}},
		{"every mistake at once", map[string]string{"port": "x", "timeout": "soon", "usernmae": "u", "pasword": "p"},
			[]string{`"port"`, `"timeout"`, `unknown key "usernmae"`, `unknown key "pasword"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaults()
			err := sdk.ConfigureRequest{Config: tt.config}.Decode(&got)
			if !errors.Is(err, sdk.ErrPermanent) {
				t.Fatalf("error = %v, want permanent", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestDecodeErrorsDoNotRepeatValues(t *testing.T) {
	var got settings
	err := sdk.ConfigureRequest{Config: map[string]string{"port": "hunter2-secret"}}.Decode(&got)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error = %v: want a refusal that does not repeat the value", err)
	}
}

func TestDecodeIntoSomethingElseThanAStructPointerIsPermanent(t *testing.T) {
	var s settings
	if err := (sdk.ConfigureRequest{}).Decode(s); !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("error = %v, want permanent", err)
	}
}
