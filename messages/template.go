package messages

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"unicode/utf8"
)

// funcs are the only functions a template may call: comparisons and
// logic, len, and minutes. printf and its kind are left out on purpose: a
// width of a billion would allocate before any bound could stop it.
func funcs() map[string]any {
	return map[string]any{"minutes": minutes}
}

// builtinFuncs are text/template's own functions a template may call.
func builtinFuncs() []string {
	return []string{"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len"}
}

// parseFuncs names every callable function for the parser, which refuses a
// call to any other name.
func parseFuncs() map[string]any {
	m := funcs()
	for _, name := range builtinFuncs() {
		// The parser only checks that a name maps to something non-nil.
		m[name] = name
	}
	return m
}

// PartError is a template refused: it names the message and part.
type PartError struct {
	Message, Part string
	Err           error
}

func (e *PartError) Error() string {
	return fmt.Sprintf("message %s, part %s: %v", e.Message, e.Part, e.Err)
}

func (e *PartError) Unwrap() error { return e.Err }

// compiled is one part's template, ready to execute.
type compiled struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// compile parses src as part of message under the package's restrictions:
// bounded size, one template (no define or block), only field access,
// variables, if/else/with and the vetted functions.
func compile(message, part, src string) (compiled, error) {
	name := message + "." + part
	if len(src) > MaxSourceBytes {
		return compiled{}, fmt.Errorf("template is %d bytes; at most %d", len(src), MaxSourceBytes)
	}
	if !utf8.ValidString(src) {
		return compiled{}, errors.New("template is not valid UTF-8")
	}
	trees, err := parse.Parse(name, src, "", "", parseFuncs())
	if err != nil {
		return compiled{}, fmt.Errorf("parse: %w", err)
	}
	if len(trees) != 1 || trees[name] == nil {
		return compiled{}, errors.New("define and block are not allowed")
	}
	if err := checkNode(trees[name].Root); err != nil {
		return compiled{}, err
	}
	var c compiled
	if part == PartHTML {
		// html/template escapes by context: a Link lands in href as a
		// URL, in text as text, and a brand name cannot open a tag.
		c.html, err = htmltemplate.New(name).Funcs(funcs()).Parse(src)
	} else {
		c.text, err = texttemplate.New(name).Funcs(funcs()).Parse(src)
	}
	if err != nil {
		return compiled{}, fmt.Errorf("parse: %w", err)
	}
	return c, nil
}

// checkNode refuses every node but text, comments, actions, if and with,
// so a template cannot loop (range), call itself or another (template),
// nor reach a function outside the vetted set.
func checkNode(n parse.Node) error {
	switch n := n.(type) {
	case nil:
		return nil
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkNode(c); err != nil {
				return err
			}
		}
		return nil
	case *parse.TextNode, *parse.CommentNode:
		return nil
	case *parse.ActionNode:
		return checkPipe(n.Pipe)
	case *parse.IfNode:
		return checkBranch(&n.BranchNode)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode)
	case *parse.RangeNode:
		return errors.New("range is not allowed")
	case *parse.TemplateNode:
		return errors.New("template is not allowed")
	case *parse.BreakNode, *parse.ContinueNode:
		return errors.New("break and continue are not allowed")
	}
	return fmt.Errorf("%s is not allowed", n)
}

func checkBranch(b *parse.BranchNode) error {
	if err := checkPipe(b.Pipe); err != nil {
		return err
	}
	if err := checkNode(b.List); err != nil {
		return err
	}
	return checkNode(b.ElseList)
}

func checkPipe(p *parse.PipeNode) error {
	if p == nil {
		return nil
	}
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			if err := checkArg(arg); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkArg allows data (fields, variables, dot, literals), a call of a
// vetted function and a parenthesised pipeline of the same.
func checkArg(n parse.Node) error {
	switch n := n.(type) {
	case *parse.FieldNode, *parse.VariableNode, *parse.DotNode,
		*parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
		return nil
	case *parse.ChainNode:
		return checkArg(n.Node)
	case *parse.PipeNode:
		return checkPipe(n)
	case *parse.IdentifierNode:
		if _, ok := parseFuncs()[n.Ident]; ok {
			return nil
		}
		return fmt.Errorf("function %s is not allowed", n.Ident)
	}
	return fmt.Errorf("%s is not allowed", n)
}

// errTooLong stops a rendering that passes MaxRenderedBytes.
var errTooLong = fmt.Errorf("renders more than %d bytes", MaxRenderedBytes)

// boundedWriter keeps what a template writes, up to MaxRenderedBytes.
type boundedWriter struct{ b strings.Builder }

func (w *boundedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > MaxRenderedBytes {
		return 0, errTooLong
	}
	return w.b.Write(p)
}

var _ io.Writer = (*boundedWriter)(nil)

// execute renders c with d and checks the result as part requires.
func (c compiled) execute(part string, d Data) (string, error) {
	var w boundedWriter
	var err error
	if c.html != nil {
		err = c.html.Execute(&w, d)
	} else {
		err = c.text.Execute(&w, d)
	}
	if errors.Is(err, errTooLong) {
		return "", errTooLong
	}
	if err != nil {
		return "", fmt.Errorf("execute: %w", err)
	}
	out := w.b.String()
	switch part {
	case PartSubject:
		// Refused, not stripped: a header must never carry a line break.
		out = strings.TrimSpace(out)
		switch {
		case out == "":
			return "", errors.New("subject is empty")
		case strings.ContainsAny(out, "\r\n"):
			return "", errors.New("subject contains a line break")
		case utf8.RuneCountInString(out) > maxSubjectRunes:
			return "", fmt.Errorf("subject is %d characters; at most %d", utf8.RuneCountInString(out), maxSubjectRunes)
		}
	case PartText:
		out = strings.TrimSpace(out) + "\n"
	case PartSMS:
		// Templates tend to end with a newline nobody meant to send.
		out = strings.TrimSpace(out)
		if out == "" {
			return "", errors.New("SMS text is empty")
		}
		if n := utf8.RuneCountInString(out); n > MaxSMSRunes {
			return "", fmt.Errorf("SMS text is %d characters; at most %d", n, MaxSMSRunes)
		}
	}
	return out, nil
}
