package broker

import (
	"bufio"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mqtt-check/mqtt-check/codec"
	"github.com/mqtt-check/mqtt-check/reference/topics"
)

// Auth holds credentials and topic access rules.
//
// Password file: one "user:hash" a line, the hash made by HashPassword
// ("pbkdf2-sha256$iterations$salt$key", base64). ACL file, in the spirit of
// mosquitto's: "user NAME" starts a section; "topic [read|write|readwrite]
// FILTER" grants access in it (lines before any "user" apply to everyone).
// With no ACL file, every authenticated client may use every topic.
type Auth struct {
	// AllowAnonymous lets clients without a user name connect.
	AllowAnonymous bool
	passwords      map[string]string
	acl            map[string][]aclRule // "" = every user
	hasACL         bool
}

type aclRule struct {
	filter      string
	read, write bool
}

const pbkdf2Iterations = 10000

// HashPassword returns the password-file hash of password, salted.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("broker: salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, pbkdf2Iterations, 32)
	if err != nil {
		return "", fmt.Errorf("broker: hashing password: %w", err)
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$" + strconv.Itoa(pbkdf2Iterations) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key), nil
}

func checkHash(hash string, password []byte) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter <= 0 || iter > 10_000_000 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, string(password), salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// NewAuth returns an Auth with no users.
func NewAuth() *Auth { return &Auth{passwords: map[string]string{}, acl: map[string][]aclRule{}} }

// AddUser adds a user with a plain-text password (hashed here).
func (a *Auth) AddUser(user, password string) error {
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	a.passwords[user] = h
	return nil
}

// Allow adds an ACL rule for user ("" for everyone); access is "read",
// "write" or "readwrite".
func (a *Auth) Allow(user, access, filter string) error {
	if err := topics.ValidateFilter([]byte(filter)); err != nil {
		return fmt.Errorf("broker: acl: %w", err)
	}
	r := aclRule{filter: filter}
	switch access {
	case "read":
		r.read = true
	case "write":
		r.write = true
	case "readwrite", "":
		r.read, r.write = true, true
	default:
		return fmt.Errorf("broker: acl: access %q is not read, write or readwrite", access)
	}
	a.acl[user] = append(a.acl[user], r)
	a.hasACL = true
	return nil
}

// LoadPasswordFile reads a password file.
func (a *Auth) LoadPasswordFile(path string) error {
	return readLines(path, func(n int, line string) error {
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return fmt.Errorf("%s:%d: want user:hash", path, n)
		}
		a.passwords[user] = hash
		return nil
	})
}

// LoadACLFile reads an ACL file.
func (a *Auth) LoadACLFile(path string) error {
	user := ""
	return readLines(path, func(n int, line string) error {
		f := strings.Fields(line)
		switch {
		case f[0] == "user" && len(f) == 2:
			user = f[1]
			return nil
		case f[0] == "topic" && len(f) == 2:
			return a.Allow(user, "readwrite", f[1])
		case f[0] == "topic" && len(f) == 3:
			if err := a.Allow(user, f[1], f[2]); err != nil {
				return fmt.Errorf("%s:%d: %w", path, n, err)
			}
			return nil
		}
		return fmt.Errorf("%s:%d: cannot parse %q", path, n, line)
	})
}

func readLines(path string, fn func(n int, line string) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	defer fh.Close()
	return scanLines(fh, fn)
}

func scanLines(r io.Reader, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(n, line); err != nil {
			return fmt.Errorf("broker: %w", err)
		}
	}
	return sc.Err()
}

// authenticate returns the CONNACK return code for the credentials.
func (a *Auth) authenticate(hasUser bool, user []byte, hasPass bool, pass []byte) byte {
	if !hasUser {
		if a.AllowAnonymous {
			return codec.ConnAccepted
		}
		return codec.ConnRefusedNotAuthorized
	}
	hash, ok := a.passwords[string(user)]
	if !ok || !hasPass || !checkHash(hash, pass) {
		return codec.ConnRefusedBadCredentials
	}
	return codec.ConnAccepted
}

func (a *Auth) rules(user string) []aclRule {
	return append(append([]aclRule(nil), a.acl[""]...), a.acl[user]...)
}

// mayPublish reports whether user may publish to topic. $SYS is the
// broker's own and read-only for clients.
func (s *Server) mayPublish(user string, topic []byte) bool {
	if isSysTopic(topic) {
		return false
	}
	a := s.opts.Auth
	if a == nil || !a.hasACL {
		return true
	}
	for _, r := range a.rules(user) {
		if r.write && topics.Match([]byte(r.filter), topic) {
			return true
		}
	}
	return false
}

// maySubscribe reports whether user may subscribe to filter: some read
// rule must cover every topic the filter can match.
func (s *Server) maySubscribe(user, filter string) bool {
	a := s.opts.Auth
	if a == nil || !a.hasACL {
		return true
	}
	for _, r := range a.rules(user) {
		if r.read && covers(r.filter, filter) {
			return true
		}
	}
	return false
}

// covers reports whether every topic matched by sub is matched by rule.
func covers(rule, sub string) bool {
	rl, sl := strings.Split(rule, "/"), strings.Split(sub, "/")
	for i, r := range rl {
		if r == "#" {
			return !(i == 0 && strings.HasPrefix(sub, "$") && !strings.HasPrefix(rule, "$"))
		}
		if i >= len(sl) {
			return false
		}
		switch {
		case r == "+":
			if sl[i] == "#" || (i == 0 && strings.HasPrefix(sl[i], "$")) {
				return false
			}
		case r != sl[i]:
			return false
		}
	}
	return len(rl) == len(sl)
}
