package messages

import (
	"fmt"
)

// Rendered is a message ready for a delivery plugin: the email's subject,
// text and HTML, or for the sms channel the SMS text in Text (and the
// subject, for plugins that show one). It holds the secret: it must not
// be logged nor leave the activity that sends it.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// Render renders message for channel ("email", "sms") with d, each part
// from the most specific of levels (see Resolve) or the built-in template,
// and the brand likewise (d.Brand is set from them). Overrides were
// validated when stored; one that fails now (a template stored by a later
// version, say) falls back to nothing: the error says which part, and
// the caller refuses the delivery.
func Render(message, channel string, d Data, levels ...Level) (Rendered, error) {
	k, ok := kindOf(message)
	if !ok {
		return Rendered{}, fmt.Errorf("render: unknown message %q", message)
	}
	d.Brand, _ = brand(levels)
	part := func(part string, d Data) (string, error) {
		src, _, ok := resolve(Key{message, part}, levels)
		if !ok {
			var err error
			if src, err = Builtin(message, part); err != nil {
				return "", err
			}
		}
		c, err := compile(message, part, src)
		if err != nil {
			return "", &PartError{Message: message, Part: part, Err: err}
		}
		out, err := c.execute(part, d)
		if err != nil {
			return "", &PartError{Message: message, Part: part, Err: err}
		}
		return out, nil
	}
	var r Rendered
	var err error
	if r.Subject, err = part(PartSubject, d); err != nil {
		return Rendered{}, err
	}
	d.Subject = r.Subject
	switch channel {
	case "sms":
		if !Known(message, PartSMS) {
			return Rendered{}, fmt.Errorf("render: message %s is not sent by SMS", k.name)
		}
		if r.Text, err = part(PartSMS, d); err != nil {
			return Rendered{}, err
		}
	default:
		if r.Text, err = part(PartText, d); err != nil {
			return Rendered{}, err
		}
		d.Text = r.Text
		if r.HTML, err = part(PartHTML, d); err != nil {
			return Rendered{}, err
		}
	}
	return r, nil
}

// Preview renders message for channel with sample data (never a real
// secret), as the effective templates of levels would.
func Preview(message, channel string, levels ...Level) (Rendered, error) {
	if _, ok := kindOf(message); !ok {
		return Rendered{}, fmt.Errorf("unknown message %q", message)
	}
	return Render(message, channel, sample(message), levels...)
}
