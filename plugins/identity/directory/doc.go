// Package directory is the file-backed identity plugin: it resolves a
// user's authid to contact data, groups and attributes from a CSV or JSON
// file the operator maintains (an export of the company directory, say), so
// that the risk policy can decide on them.
//
// The file is read whole at Configure and, when "reload" is set, again
// whenever its modification time or size changes. A file that does not
// parse is refused at Configure (permanently, naming the line) and, on
// reload, logged and ignored: lookups keep answering from the last good
// copy rather than from nothing. Write the file elsewhere and rename it into
// place, so a reload never sees it half written.
//
// It is served both built into the flexauth binary ("flexauth plugin serve
// directory", if the binary wires it) and as the standalone executable in
// cmd/flexauth-directory. It depends on plugins/sdk only, never on the rest
// of flexauth, and never writes the file.
package directory
