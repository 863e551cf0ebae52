package selection

import "strings"

// The word lists below are English. Other languages still get clips scored
// on density, loudness, pauses and the prompt's words; only the hook and
// filler signals go quiet.

var stopwords = set(`a about above after again against all am an and any are as at be because been
before being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not now of off on once only or other our ours ourselves
out over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which while
who whom why will with would you your yours yourself yourselves i'm it's that's there's don't
we're you're they're i've we've you've can't won't isn't aren't wasn't doesn't didn't let's
also really very well yeah okay ok oh going get got go gonna want wanna thing things lot kind sort
say said says know think mean right like one just much many way something anything everything
make made need every each time times ever still even back`)

// Connectives and pronouns that make an opening depend on what came before.
var dependentOpeners = set(`and but so because or which also then plus anyway however therefore
thus hence it that this these those he she they him her them his its their there`)

var questionOpeners = set(`what why how when where who which whose whom did do does is are was
were can could should would will have has ever`)

var boldWords = set(`never always nobody everyone everybody everything nothing biggest best worst
most least secret secrets truth mistake mistakes wrong myth myths lie lies stop must only first
last ultimate proven surprising shocking crazy insane huge massive killer simple simplest
hardest easiest fastest cheapest dangerous important critical key problem problems reason reasons
why how`)

var numberWords = set(`one two three four five six seven eight nine ten eleven twelve thirteen
fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
ninety hundred thousand million billion trillion percent half double triple dozen`)

// Fillers that weigh fully; weakFillers weigh a third (they are often real words).
var fillers = set(`um umm uh uhh uhm erm er ah ahh hmm hm mm mhm`)
var weakFillers = set(`like basically literally actually honestly totally`)
var fillerPairs = set(`you_know i_mean sort_of kind_of you_see`)

// Closing words that make an ending feel like a conclusion.
var closers = set(`remember lesson bottom line point takeaway summary conclusion that's why so`)

func set(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// stem strips common English suffixes so that "prices", "pricing" and
// "priced" meet at "pric". It is crude on purpose: it only has to make the
// prompt and the transcript agree.
func stem(w string) string {
	w = strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "’s")
	for _, suf := range []string{"ations", "ation", "ments", "ment", "ness", "ings", "ing", "ies", "ers", "er", "ed", "es", "ly", "s", "e", "y"} {
		if len(w)-len(suf) >= 3 && strings.HasSuffix(w, suf) {
			return w[:len(w)-len(suf)]
		}
	}
	return w
}

// isNumber reports a digit string ("3", "1,000", "50%") or a number word.
func isNumber(w string) bool {
	if numberWords[w] {
		return true
	}
	for _, r := range w {
		if r >= '0' && r <= '9' {
			return true
		}
	}
	return false
}
