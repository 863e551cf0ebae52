package clipping

import "strings"

// NormalizeLanguage accepts an ISO 639-1 code in any case ("EN", "en")
// and returns it in lower case. Errors name the param input_language.
func NormalizeLanguage(s string) (string, error) {
	code := strings.ToLower(s)
	// The length check keeps out look-alikes that lower-case to ASCII,
	// such as the Kelvin sign (U+212A) for "k".
	if len(s) != 2 || !iso6391[code] {
		return "", InvalidParam("input_language", `input_language must be an ISO 639-1 two-letter code such as "en" or "es", or null; %q is not one.`, s)
	}
	return code, nil
}

// iso6391 holds the 183 current ISO 639-1 codes; withdrawn ones (bh, in,
// iw, ji, jw, mo, sh) are left out.
var iso6391 = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`
		aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs
		cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv
		ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl
		km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt
		my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru
		rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn
		to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu`) {
		m[c] = true
	}
	return m
}()
