package messages

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Key names one part of one message, or one field of the brand
// (BrandKey).
type Key struct{ Message, Part string }

// The brand is kept with the templates, as the fields of a message of its
// own: an account and a system can each set it, the most specific winning
// field by field.
const (
	brandMessage = "brand"
	BrandName    = "name"
	BrandColor   = "color"
)

// BrandKey is the Key of a brand field (BrandName or BrandColor).
func BrandKey(field string) Key { return Key{brandMessage, field} }

// IsBrand reports whether k is a brand field.
func (k Key) IsBrand() bool { return k.Message == brandMessage }

// Layer is one level's overrides (an account's or a system's): template
// sources and brand fields by key. A key it does not hold is inherited.
type Layer map[Key]string

// Source is where an effective template or brand field comes from.
type Source string

// Sources, from least to most specific.
const (
	FromBuiltin Source = "builtin"
	// FromInherited is an override an organisation above the account set:
	// a parent's wording and brand flow down its tree, as its delivery
	// routing and policy do, until a nearer level sets its own.
	FromInherited Source = "inherited"
	FromAccount   Source = "account"
	FromSystem    Source = "system"
)

// Level is one level's overrides and the source they are reported as.
type Level struct {
	Layer  Layer
	Source Source
}

// resolve returns the value of k from the first (most specific) level
// that sets it, and where it came from; ok is false when none does.
func resolve(k Key, levels []Level) (string, Source, bool) {
	for _, l := range levels {
		if v, ok := l.Layer[k]; ok {
			return v, l.Source, true
		}
	}
	return "", FromBuiltin, false
}

// EffectivePart is one part's template as it applies, and its source.
type EffectivePart struct {
	Template string
	Source   Source
}

// Effective is the set of templates and the brand that apply at one
// level: for each message and part, the template and where it comes from.
type Effective struct {
	Messages    map[string]map[string]EffectivePart
	Brand       Brand
	BrandSource map[string]Source // by BrandName, BrandColor
}

// Resolve returns the effective set of levels, most specific first (a
// system's, its account's, then the organisations above it, nearest
// first).
func Resolve(levels ...Level) (Effective, error) {
	e := Effective{Messages: map[string]map[string]EffectivePart{}, BrandSource: map[string]Source{}}
	for _, k := range kinds() {
		parts := map[string]EffectivePart{}
		for _, part := range k.parts {
			src, from, ok := resolve(Key{k.name, part}, levels)
			if !ok {
				var err error
				if src, err = Builtin(k.name, part); err != nil {
					return Effective{}, err
				}
			}
			parts[part] = EffectivePart{Template: src, Source: from}
		}
		e.Messages[k.name] = parts
	}
	e.Brand, e.BrandSource = brand(levels)
	return e, nil
}

// brand resolves the brand's fields.
func brand(levels []Level) (Brand, map[string]Source) {
	b := Brand{Color: DefaultBrandColor}
	sources := map[string]Source{BrandName: FromBuiltin, BrandColor: FromBuiltin}
	if v, from, ok := resolve(BrandKey(BrandName), levels); ok {
		b.Name, sources[BrandName] = v, from
	}
	if v, from, ok := resolve(BrandKey(BrandColor), levels); ok {
		b.Color, sources[BrandColor] = v, from
	}
	return b, sources
}

// Validate checks one override before it is stored: a template of a known
// message and part that compiles under the package's restrictions, renders
// with sample data within the limits, and carries the link or code of a
// message that sends one; or a brand field. The error is a *PartError
// naming the message and part.
func Validate(k Key, value string) error {
	if k.IsBrand() {
		if err := validateBrand(k.Part, value); err != nil {
			return &PartError{Message: k.Message, Part: k.Part, Err: err}
		}
		return nil
	}
	if err := validateTemplate(k.Message, k.Part, value); err != nil {
		return &PartError{Message: k.Message, Part: k.Part, Err: err}
	}
	return nil
}

func validateBrand(field, value string) error {
	switch field {
	case BrandName:
		if n := utf8.RuneCountInString(value); n > maxBrandNameRunes {
			return fmt.Errorf("brand name is %d characters; at most %d", n, maxBrandNameRunes)
		}
		if strings.IndexFunc(value, unicode.IsControl) >= 0 {
			return errors.New("brand name must not contain control characters or line breaks")
		}
		return nil
	case BrandColor:
		if !hexColor.MatchString(value) {
			return fmt.Errorf("%q is not a hex colour like #1d4ed8", value)
		}
		return nil
	}
	return fmt.Errorf("unknown brand field %q; want name or color", field)
}

func validateTemplate(message, part, src string) error {
	k, ok := kindOf(message)
	if !ok {
		return fmt.Errorf("unknown message; want one of %s", strings.Join(Names(), ", "))
	}
	if !Known(message, part) {
		return fmt.Errorf("unknown part; want one of %s", strings.Join(k.parts, ", "))
	}
	c, err := compile(message, part, src)
	if err != nil {
		return err
	}
	d := sample(message)
	if part != PartSubject {
		d.Subject = "Sample subject"
	}
	if part == PartHTML {
		d.Text = "Sample text"
	}
	mustShow := d.Text
	out, err := c.execute(part, d)
	if err != nil {
		return err
	}
	if part == PartSubject {
		return nil
	}
	// A message that silently dropped its secret would reach users who
	// then cannot sign in; the HTML escaper leaves the sample link's
	// characters as they are.
	switch k.secret {
	case linkSecret:
		if !strings.Contains(out, SampleLink) {
			return errors.New("the template does not render the link ({{.Link}})")
		}
	case codeSecret:
		if !strings.Contains(out, SampleCode) {
			return errors.New("the template does not render the code ({{.Code}})")
		}
	case noticeText:
		// html/template escapes the apostrophe of the sample sentence.
		if !strings.Contains(out, strings.Split(mustShow, "'")[0]) {
			return errors.New("the template does not render what happened ({{.Text}})")
		}
	}
	return nil
}
