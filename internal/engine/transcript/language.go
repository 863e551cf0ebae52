package transcript

import "strings"

// languageCodes maps English language names, as whisper reports them
// ("english"), to ISO-639-1 codes.
var languageCodes = map[string]string{
	"afrikaans": "af", "arabic": "ar", "armenian": "hy", "azerbaijani": "az",
	"basque": "eu", "belarusian": "be", "bengali": "bn", "bosnian": "bs",
	"bulgarian": "bg", "catalan": "ca", "valencian": "ca", "chinese": "zh",
	"mandarin": "zh", "cantonese": "zh", "croatian": "hr", "czech": "cs",
	"danish": "da", "dutch": "nl", "flemish": "nl", "english": "en",
	"estonian": "et", "finnish": "fi", "french": "fr", "galician": "gl",
	"georgian": "ka", "german": "de", "greek": "el", "gujarati": "gu",
	"hebrew": "he", "hindi": "hi", "hungarian": "hu", "icelandic": "is",
	"indonesian": "id", "italian": "it", "japanese": "ja", "kannada": "kn",
	"kazakh": "kk", "korean": "ko", "latvian": "lv", "lithuanian": "lt",
	"macedonian": "mk", "malay": "ms", "malayalam": "ml", "marathi": "mr",
	"nepali": "ne", "norwegian": "no", "persian": "fa", "farsi": "fa",
	"polish": "pl", "portuguese": "pt", "punjabi": "pa", "panjabi": "pa",
	"romanian": "ro", "moldavian": "ro", "russian": "ru", "serbian": "sr",
	"slovak": "sk", "slovenian": "sl", "spanish": "es", "castilian": "es",
	"swahili": "sw", "swedish": "sv", "tagalog": "tl", "tamil": "ta",
	"telugu": "te", "thai": "th", "turkish": "tr", "ukrainian": "uk",
	"urdu": "ur", "vietnamese": "vi", "welsh": "cy",
}

// LanguageCode turns a language as providers write it ("english",
// "English", "en", "en-US", "pt_BR") into an ISO-639-1 code, or "" when it
// is not recognised.
func LanguageCode(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if code, ok := languageCodes[s]; ok {
		return code
	}
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		s = s[:i]
	}
	if len(s) == 2 && isASCIILetter(s[0]) && isASCIILetter(s[1]) {
		return s
	}
	return ""
}
