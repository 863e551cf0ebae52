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

// Words that make a claim bold: absolutes and superlatives.
var boldWords = set(`never always nobody everyone everybody everything nothing biggest best worst
least secret secrets truth mistake mistakes wrong myth myths lie lies must only ultimate proven
surprising shocking crazy insane huge massive killer simplest hardest easiest fastest cheapest
dangerous powerful`)

// revealNouns, after a superlative or "the one", make the strongest hook of
// all: "the biggest mistake", "the one thing", "the real reason".
var revealNouns = set(`mistake mistakes secret secrets reason reasons truth myth lie thing things
problem lesson rule habit trick question`)

var superlatives = set(`biggest best worst most real only one first number hardest simplest
cheapest fastest easiest single`)

// Words that turn a sentence against what was expected.
var contrastWords = set(`but yet instead actually however although though unlike rather`)

// Verbs that open the strongest imperatives, which tell the viewer to undo
// a habit: "Stop doing cardio for fat loss".
var counterVerbs = set(`stop don't never forget quit avoid`)

// After an opening verb, these make a statement, not a command: "Sleep is
// the cheapest upgrade".
var copulas = set(`is are was were has have had can will would should may might does did
isn't aren't wasn't`)

// Who "most" speaks of in a reveal: "most people", "most beginners".
var mostWho = set(`people beginners founders companies adults players runners writers teams`)

// Fractions count as numbers before "of": "a third of us".
var fractions = set(`half third thirds quarter quarters fifth tenth twelfth hundredth thousandth`)

// functionWords are too small to end a title on.
var functionWords = set(`a an the of to in on at for with by from as and or but so than then that
this these those is are was were be been it its my your our their his her we you they i`)

// Verbs that open an imperative: "Stop doing cardio", "Raise your price".
var imperativeVerbs = set(`stop start try give take make keep put raise cut buy sell save pay move
write read run walk eat drink sleep go get use think imagine remember forget look listen ask tell
learn practise practice play add mix fold shape bake salt grind store plant leave check replace
split avoid skip don't never always focus build choose pick find`)

var numberWords = set(`one two three four five six seven eight nine ten eleven twelve thirteen
fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
ninety hundred thousand million billion trillion percent half double triple dozen twice third
thirds quarter quarters fifth tenth twelfth hundredth thousandth`)

// Fillers that weigh fully; weakFillers weigh a third (they are often real words).
var fillers = set(`um umm uh uhh uhm erm er ah ahh hmm hm mm mhm`)
var weakFillers = set(`like basically literally actually honestly totally`)
var fillerPairs = set(`you_know i_mean sort_of kind_of you_see`)

// Closing words that make an ending feel like a conclusion.
var closers = set(`remember lesson bottom line point takeaway summary conclusion that's why so`)

// Phrases that mark a talk's intro, outro and segues, and the start of a new
// topic, matched on the lower-cased words of a sentence.
var (
	introPhrases = phrases(`welcome | hi everyone | hello everyone | hey everyone | hello and | in this video |
in today's video | in this episode | in this talk | in this session | today i | today we | today i'm |
today we're | my name is | before we start | before we get started | let's get started |
let us get started | let's dive in | let us dive in | thanks for joining | thank you for joining |
grab a | back to the channel | on this channel | going to cover | going to talk about |
walk you through`)
	outroPhrases = phrases(`thanks for watching | thank you for watching | thanks for listening |
thank you for listening | thank you so much for | subscribe | see you next | see you in the next |
see you soon | bye | goodbye | that's all | that is all | that's everything | that is everything |
wraps it up | that's it for | that is it for | until next time | in the comments |
next video | time for today | have time for | thanks again | take care`)
	seguePhrases = phrases(`brings me to | brings us to | leads us | leads me | move on | moving on |
let's talk about | let us talk about | next up | next topic | my next | turn to | turning to |
speaking of | one more thing | something completely different | switch gears | switching gears |
let's look at | let us look at | now let's | now let us | on to the next | which brings`)
	topicMarkers = phrases(`next | finally | first | second | third | another | now | let's talk about |
let us talk about | moving on | speaking of | turning to | on to`)
)

// phrases reads a list of phrases separated by "|".
func phrases(s string) [][]string {
	var out [][]string
	for _, p := range strings.Split(s, "|") {
		if f := strings.Fields(p); len(f) > 0 {
			out = append(out, f)
		}
	}
	return out
}

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
