package speech

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/transcribe"
	"github.com/aws/aws-sdk-go-v2/service/transcribe/types"

	"github.com/clipmill/clipmill/internal/clock"
	"github.com/clipmill/clipmill/internal/engine/transcript"
	"github.com/clipmill/clipmill/internal/ids"
)

// TranscribeAPI is the part of Amazon Transcribe's client this uses.
type TranscribeAPI interface {
	StartTranscriptionJob(ctx context.Context, in *transcribe.StartTranscriptionJobInput, opts ...func(*transcribe.Options)) (*transcribe.StartTranscriptionJobOutput, error)
	GetTranscriptionJob(ctx context.Context, in *transcribe.GetTranscriptionJobInput, opts ...func(*transcribe.Options)) (*transcribe.GetTranscriptionJobOutput, error)
}

// ObjectAPI is the part of S3's client this uses: the audio goes in, the
// transcript comes out, and both are deleted after.
type ObjectAPI interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// Transcribe recognises speech with Amazon Transcribe: the audio is put in
// a bucket, a transcription job reads it and writes its JSON beside it, and
// both are deleted when the words are read. Transcribe takes hours of
// audio at once, so a track is sent whole.
type Transcribe struct {
	Client TranscribeAPI
	S3     ObjectAPI
	Bucket string
	Prefix string        // key prefix for the audio and the result; "" is "clipmill-transcribe/"
	Poll   time.Duration // first wait between status checks; 0 is 5 s
	// Timeout bounds a whole job; 0 is an hour plus twice the audio.
	Timeout time.Duration
}

// PieceLength makes the engine send a track whole (up to four hours).
func (Transcribe) PieceLength() (target, max float64) { return 4 * 3600, 4 * 3600 }

// TranscribeFile recognises one audio file (a WAV). The language is an
// ISO-639-1 code, or "" to let Transcribe identify it.
func (t Transcribe) TranscribeFile(ctx context.Context, file, language string) (transcript.Transcript, error) {
	name := "clipmill-" + ids.New()
	prefix := t.Prefix
	if prefix == "" {
		prefix = "clipmill-transcribe/"
	}
	audioKey, resultKey := path.Join(prefix, name+".wav"), path.Join(prefix, name+".json")
	f, err := os.Open(file)
	if err != nil {
		return transcript.Transcript{}, fmt.Errorf("transcribe: %w", err)
	}
	defer f.Close()
	if _, err := t.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(t.Bucket), Key: aws.String(audioKey), Body: f}); err != nil {
		return transcript.Transcript{}, fmt.Errorf("transcribe: upload the audio: %w", err)
	}
	// What was uploaded and written is of no use once read.
	defer t.S3.DeleteObject(context.WithoutCancel(ctx), &s3.DeleteObjectInput{Bucket: aws.String(t.Bucket), Key: aws.String(audioKey)})
	defer t.S3.DeleteObject(context.WithoutCancel(ctx), &s3.DeleteObjectInput{Bucket: aws.String(t.Bucket), Key: aws.String(resultKey)})

	if err := t.Start(ctx, name, audioKey, resultKey, language); err != nil {
		return transcript.Transcript{}, err
	}
	if err := t.wait(ctx, name); err != nil {
		return transcript.Transcript{}, err
	}
	out, err := t.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.Bucket), Key: aws.String(resultKey)})
	if err != nil {
		return transcript.Transcript{}, fmt.Errorf("transcribe: read the result: %w", err)
	}
	defer out.Body.Close()
	tr, err := transcript.ParseJSON(out.Body)
	if err != nil {
		return transcript.Transcript{}, fmt.Errorf("transcribe: %w", err)
	}
	return tr, nil
}

// Start starts a job named name on the WAV at audioKey in the bucket,
// writing its result to resultKey there. The language is an ISO-639-1
// code, or "" to let Transcribe identify it. A job of that name that
// exists already is taken as this one (a replayed step).
func (t Transcribe) Start(ctx context.Context, name, audioKey, resultKey, language string) error {
	in := &transcribe.StartTranscriptionJobInput{
		TranscriptionJobName: aws.String(name),
		Media:                &types.Media{MediaFileUri: aws.String("s3://" + t.Bucket + "/" + audioKey)},
		MediaFormat:          types.MediaFormatWav,
		OutputBucketName:     aws.String(t.Bucket),
		OutputKey:            aws.String(resultKey),
	}
	if language == "" {
		in.IdentifyLanguage = aws.Bool(true)
	} else {
		code, err := LanguageCode(language)
		if err != nil {
			return err
		}
		in.LanguageCode = code
	}
	if _, err := t.Client.StartTranscriptionJob(ctx, in); err != nil {
		var conflict *types.ConflictException
		if errors.As(err, &conflict) {
			return nil
		}
		return fmt.Errorf("transcribe: start the job: %w", err)
	}
	return nil
}

// Status looks at a job once: "running", "completed", or "failed" with
// Transcribe's reason.
func (t Transcribe) Status(ctx context.Context, name string) (status, reason string, err error) {
	out, err := t.Client.GetTranscriptionJob(ctx, &transcribe.GetTranscriptionJobInput{TranscriptionJobName: aws.String(name)})
	if err != nil {
		return "", "", fmt.Errorf("transcribe: check the job: %w", err)
	}
	job := out.TranscriptionJob
	if job == nil {
		return "", "", errors.New("transcribe: the job has no status")
	}
	switch job.TranscriptionJobStatus {
	case types.TranscriptionJobStatusCompleted:
		return "completed", "", nil
	case types.TranscriptionJobStatusFailed:
		return "failed", aws.ToString(job.FailureReason), nil
	}
	return "running", "", nil
}

// wait checks the job until it completes or fails, waiting longer each
// time up to a minute, within the timeout.
func (t Transcribe) wait(ctx context.Context, name string) error {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Hour
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := t.Poll
	if wait <= 0 {
		wait = 5 * time.Second
	}
	for {
		status, reason, err := t.Status(ctx, name)
		switch {
		case err != nil:
			return err
		case status == "completed":
			return nil
		case status == "failed":
			return &TranscribeFailed{Reason: reason}
		}
		if err := clock.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("transcribe: the job did not finish within %v: %w", timeout, err)
		}
		wait = min(2*wait, time.Minute)
	}
}

// TranscribeFailed is a transcription job that Amazon Transcribe failed,
// with its reason (for example, audio it cannot read).
type TranscribeFailed struct{ Reason string }

func (e *TranscribeFailed) Error() string {
	return "Amazon Transcribe could not transcribe the audio: " + e.Reason
}

// transcribeCodes maps ISO-639-1 codes to the language variant Transcribe
// takes by default for each.
var transcribeCodes = map[string]types.LanguageCode{
	"en": types.LanguageCodeEnUs, "es": types.LanguageCodeEsUs, "fr": types.LanguageCodeFrFr,
	"de": types.LanguageCodeDeDe, "it": types.LanguageCodeItIt, "pt": types.LanguageCodePtBr,
	"nl": types.LanguageCodeNlNl, "ja": types.LanguageCodeJaJp, "ko": types.LanguageCodeKoKr,
	"zh": types.LanguageCodeZhCn, "hi": types.LanguageCodeHiIn, "ar": types.LanguageCodeArSa,
	"ru": types.LanguageCodeRuRu, "sv": types.LanguageCodeSvSe, "da": types.LanguageCodeDaDk,
	"pl": types.LanguageCodePlPl, "tr": types.LanguageCodeTrTr, "id": types.LanguageCodeIdId,
	"he": types.LanguageCodeHeIl, "fi": types.LanguageCodeFiFi, "no": types.LanguageCodeNoNo,
	"uk": types.LanguageCodeUkUa, "vi": types.LanguageCodeViVn, "th": types.LanguageCodeThTh,
}

// LanguageCode is Transcribe's code for an ISO-639-1 language.
func LanguageCode(iso string) (types.LanguageCode, error) {
	if c, ok := transcribeCodes[strings.ToLower(iso)]; ok {
		return c, nil
	}
	return "", &UnsupportedLanguageError{Language: iso, Recognizer: "Amazon Transcribe"}
}
