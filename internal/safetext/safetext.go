// Package safetext makes text from outside (file names, object names, the
// bodies of remote errors) safe to print on a terminal or in Argo CD's UI: no
// control character (newline, escape sequence, ...) passes, so such text can
// never forge a line of vaultcmp's own output.
package safetext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean returns s unchanged when it holds only printable characters, and
// otherwise strconv.Quote(s): `"evil\n\x1b[31m.yaml"`.
func Clean(s string) string {
	if isClean(s) {
		return s
	}
	return strconv.Quote(s)
}

// Remote is Clean for text a remote server chose (an error body): cut to at
// most max bytes (on a rune boundary), with "…(N bytes cut)" after the cut.
func Remote(s string, max int) string {
	cut := 0
	if max > 0 && len(s) > max {
		end := max
		for end > 0 && !utf8.RuneStart(s[end]) {
			end--
		}
		cut = len(s) - end
		s = s[:end]
	}
	s = Clean(s)
	if cut > 0 {
		s += "…(" + strconv.Itoa(cut) + " bytes cut)"
	}
	return s
}

// Lines escapes the control characters of s except newlines and tabs, which
// vaultcmp's own multi-line messages use: the last guard before stderr. Text
// from outside is cleaned where it enters a message (Clean); this catches
// what slipped through.
func Lines(s string) string {
	if isCleanLines(s) {
		return s
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		body, nl := strings.CutSuffix(line, "\n")
		if isCleanLines(body) {
			b.WriteString(body)
		} else {
			q := strconv.Quote(body)
			b.WriteString(strings.ReplaceAll(q[1:len(q)-1], `\t`, "\t"))
		}
		if nl {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func isClean(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

func isCleanLines(s string) bool {
	for _, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}
