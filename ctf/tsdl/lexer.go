package tsdl

import (
	"fmt"
	"strings"
)

// tokKind is the lexical class of a token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // identifiers and keywords
	tInt            // integer literal (val)
	tString         // string literal (str holds the decoded text)
	tChar           // character literal (val)
	tPunct          // punctuator (str)
)

// token is one lexical token. Identifiers and punctuators point into the
// metadata text (no copy).
type token struct {
	kind tokKind
	line int32
	str  string
	val  uint64
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of metadata"
	case tString:
		return fmt.Sprintf("string %q", clip(t.str))
	case tChar:
		return fmt.Sprintf("character literal %d", t.val)
	case tInt:
		return fmt.Sprintf("%q", t.str)
	}
	return fmt.Sprintf("%q", clip(t.str))
}

// lexer splits metadata text into tokens on demand. NUL bytes are refused
// anywhere (ctf-testsuite metadata-with-null-char): a NUL can only appear
// in a string through an escape.
type lexer struct {
	src  string
	i    int
	line int32
	err  error // sticky: once set, every token is tEOF
}

// next returns the next token; at the end or after an error, tEOF.
func (l *lexer) next() token {
	if l.err != nil {
		return token{kind: tEOF, line: l.line}
	}
	t, err := l.scan()
	if err != nil {
		l.err = err
		return token{kind: tEOF, line: l.line}
	}
	return t
}

func (l *lexer) scan() (token, error) {
	src, n := l.src, len(l.src)
	i, line := l.i, l.line
	t, err := l.scanFrom(src, n, i, line)
	return t, err
}

func (l *lexer) scanFrom(src string, n, i int, line int32) (token, error) {
	// done records the position after a token.
	done := func(t token, j int, ln int32) (token, error) {
		l.i, l.line = j, ln
		return t, nil
	}
	for i < n {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '/' && i+1 < n && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return token{}, errorf(int(line), "unterminated comment")
			}
			body := src[i : i+2+end+2]
			if j := strings.IndexByte(body, 0); j >= 0 {
				return token{}, errorf(int(line)+strings.Count(body[:j], "\n"), "NUL character in comment")
			}
			line += int32(strings.Count(body, "\n"))
			i += len(body)
			continue
		case c == '/' && i+1 < n && src[i+1] == '/':
			j := i
			for j < n && src[j] != '\n' {
				if src[j] == 0 {
					return token{}, errorf(int(line), "NUL character in comment")
				}
				j++
			}
			i = j
			continue
		case isIdentStart(c):
			j := i + 1
			for j < n && isIdentChar(src[j]) {
				j++
			}
			// L"..." and L'...' are wide literals: the prefix means nothing to us.
			if j == i+1 && c == 'L' && j < n && (src[j] == '"' || src[j] == '\'') {
				i = j
				continue
			}
			return done(token{kind: tIdent, line: line, str: src[i:j]}, j, line)
		case c >= '0' && c <= '9':
			t, j, err := lexInt(src, i, line)
			if err != nil {
				return token{}, err
			}
			return done(t, j, line)
		case c == '"':
			s, j, nl, err := lexQuoted(src, i, '"', line)
			if err != nil {
				return token{}, err
			}
			return done(token{kind: tString, line: line, str: s}, j, line+nl)
		case c == '\'':
			s, j, nl, err := lexQuoted(src, i, '\'', line)
			if err != nil {
				return token{}, err
			}
			if len(s) != 1 {
				return token{}, errorf(int(line), "character literal must hold one character, found %q", s)
			}
			return done(token{kind: tChar, line: line, str: src[i:j], val: uint64(s[0])}, j, line+nl)
		}
		// Punctuators.
		switch {
		case strings.HasPrefix(src[i:], ":="):
			return done(token{kind: tPunct, line: line, str: ":="}, i+2, line)
		case strings.HasPrefix(src[i:], "..."):
			return done(token{kind: tPunct, line: line, str: "..."}, i+3, line)
		case strings.HasPrefix(src[i:], "->"):
			return done(token{kind: tPunct, line: line, str: "->"}, i+2, line)
		case strings.IndexByte("{}()[];,:=.<>+-*", c) >= 0:
			return done(token{kind: tPunct, line: line, str: src[i : i+1]}, i+1, line)
		case c == 0:
			return token{}, errorf(int(line), "NUL character in metadata")
		default:
			return token{}, errorf(int(line), "unexpected character %q", rune(c))
		}
	}
	return done(token{kind: tEOF, line: line}, i, line)
}

// lex splits the whole text into tokens (for tests).
func lex(src string) ([]token, error) {
	l := &lexer{src: src, line: 1}
	var toks []token
	for {
		t := l.next()
		toks = append(toks, t)
		if t.kind == tEOF {
			return toks, l.err
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9')
}

// lexInt reads a decimal, octal (0...), hexadecimal (0x...) or binary
// (0b...) literal with optional u/l suffixes.
func lexInt(src string, i int, line int32) (token, int, error) {
	n := len(src)
	start := i
	base := uint64(10)
	if src[i] == '0' && i+1 < n && (src[i+1] == 'x' || src[i+1] == 'X') {
		base = 16
		i += 2
	} else if src[i] == '0' && i+1 < n && (src[i+1] == 'b' || src[i+1] == 'B') {
		base = 2
		i += 2
	} else if src[i] == '0' {
		base = 8
		i++
	}
	digits := i
	var v uint64
	overflow := false
	for i < n {
		d := digitVal(src[i])
		if d >= base {
			break
		}
		nv := v*base + d
		if v > (^uint64(0)-d)/base {
			overflow = true
		}
		v = nv
		i++
	}
	if i == digits && base != 8 {
		return token{}, 0, errorf(int(line), "incomplete integer literal %q", src[start:i])
	}
	for i < n && (src[i] == 'u' || src[i] == 'U' || src[i] == 'l' || src[i] == 'L') {
		i++
	}
	if i < n && (isIdentChar(src[i]) || src[i] == '.' && !strings.HasPrefix(src[i:], "...")) {
		j := i
		for j < n && (isIdentChar(src[j]) || src[j] == '.') {
			j++
		}
		return token{}, 0, errorf(int(line), "malformed integer literal %q", src[start:j])
	}
	if overflow {
		return token{}, 0, errorf(int(line), "integer literal %s does not fit in 64 bits", src[start:i])
	}
	return token{kind: tInt, line: line, str: src[start:i], val: v}, i, nil
}

func digitVal(c byte) uint64 {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0')
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10
	}
	return 99
}

// lexQuoted reads a string or character literal starting at the quote
// src[i] and returns its decoded bytes. An escaped NUL ends the value (as
// in C), the rest of the literal is still consumed.
func lexQuoted(src string, i int, q byte, line int32) (string, int, int32, error) {
	n := len(src)
	i++
	var b []byte
	plain := i
	simple := true
	nl := int32(0)
	cut := false
	for {
		if i >= n {
			return "", 0, 0, errorf(int(line), "unterminated %s literal", quoteName(q))
		}
		c := src[i]
		if c == q {
			break
		}
		switch c {
		case 0:
			return "", 0, 0, errorf(int(line+nl), "NUL character in %s literal", quoteName(q))
		case '\n':
			nl++
		case '\\':
			if simple {
				b = append(b, src[plain:i]...)
				simple = false
			}
			i++
			if i >= n {
				return "", 0, 0, errorf(int(line+nl), "unterminated %s literal", quoteName(q))
			}
			e := src[i]
			i++
			var v int
			switch e {
			case 'n':
				v = '\n'
			case 't':
				v = '\t'
			case 'r':
				v = '\r'
			case 'a':
				v = 7
			case 'b':
				v = 8
			case 'f':
				v = 12
			case 'v':
				v = 11
			case '\\', '\'', '"', '?':
				v = int(e)
			case 'x':
				// Up to three hex digits, as babeltrace reads them.
				k := 0
				for k < 3 && i < n && digitVal(src[i]) < 16 {
					v = v*16 + int(digitVal(src[i]))
					i++
					k++
				}
				if k == 0 {
					return "", 0, 0, errorf(int(line+nl), "\\x escape without hex digits in %s literal", quoteName(q))
				}
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v = int(e - '0')
				for k := 1; k < 3 && i < n && src[i] >= '0' && src[i] <= '7'; k++ {
					v = v*8 + int(src[i]-'0')
					i++
				}
			case '\n':
				nl++
				continue
			default:
				return "", 0, 0, errorf(int(line+nl), "unknown escape \\%c in %s literal", e, quoteName(q))
			}
			if v == 0 {
				cut = true
			}
			if !cut {
				b = append(b, byte(v))
			}
			continue
		}
		if !simple && !cut {
			b = append(b, c)
		}
		i++
	}
	if simple {
		return src[plain:i], i + 1, nl, nil
	}
	return string(b), i + 1, nl, nil
}

func quoteName(q byte) string {
	if q == '"' {
		return "string"
	}
	return "character"
}
