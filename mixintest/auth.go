package mixintest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	tokenLeeway    = 5 * time.Second
	maxIssuedAhead = 5 * time.Minute
)

// authenticate verifies the request's bearer token against the session key
// of the user it names and the sig claim against method, URI and body. It
// returns the user who signed.
func (s *Server) authenticate(r *http.Request, body []byte) (*User, error) {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || raw == "" {
		return nil, errors.New("no bearer token")
	}
	now := s.now()
	var user *User
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		uid, _ := claims["uid"].(string)
		sid, _ := claims["sid"].(string)
		if uid == "" || sid == "" {
			return nil, errors.New("uid and sid required")
		}
		s.mu.Lock()
		u := s.users[uid]
		s.mu.Unlock()
		if u == nil || u.SessionID != sid {
			return nil, fmt.Errorf("unknown session %s/%s", uid, sid)
		}
		user = u
		return u.key.Public().(ed25519.PublicKey), nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		return nil, err
	}
	if !tok.Valid {
		return nil, errors.New("invalid token")
	}
	for _, c := range []string{"uid", "sid", "iat", "exp", "jti", "sig"} {
		if _, ok := claims[c]; !ok {
			return nil, fmt.Errorf("claim %s required", c)
		}
	}
	iat, err := claims.GetIssuedAt()
	if err != nil || iat == nil {
		return nil, errors.New("bad iat")
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, errors.New("bad exp")
	}
	if iat.After(now.Add(maxIssuedAhead)) {
		return nil, errors.New("iat in the future")
	}
	if d := s.cfg.maxClockSkew; d > 0 && iat.Sub(now).Abs() > d {
		return nil, errors.New("iat too far from the server clock")
	}
	if exp.Sub(iat.Time) > s.cfg.maxTokenAge {
		return nil, errors.New("token lifetime too long")
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		return nil, errors.New("empty jti")
	}
	sig, _ := claims["sig"].(string)
	if !s.sigMatches(sig, r.Method, r.RequestURI, body) {
		return nil, errors.New("sig mismatch")
	}
	return user, nil
}

// sigMatches checks the sig claim against the URI as received. With a path
// prefix it also accepts the URI relative to the prefix, which is what
// clients that sign "the path after the base URL" (the Node SDK) produce.
func (s *Server) sigMatches(sig, method, uri string, body []byte) bool {
	if sig == signature(method, uri, body) {
		return true
	}
	if p := s.cfg.prefix; p != "" && strings.HasPrefix(uri, p) {
		rest := strings.TrimPrefix(uri, p)
		if rest == "" || rest[0] == '?' {
			rest = "/" + rest
		}
		return sig == signature(method, rest, body)
	}
	return false
}

func signature(method, uri string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte(uri))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
