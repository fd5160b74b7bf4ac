package main

import (
	"strings"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// outputFormats are the output_format values of text_to_speech_full; the
// streaming operation accepts the same except the wav_* ones.
func outputFormats() []string {
	return []string{
		"alaw_8000",
		"mp3_22050_32", "mp3_24000_48", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128", "mp3_44100_192",
		"opus_48000_32", "opus_48000_64", "opus_48000_96", "opus_48000_128", "opus_48000_192",
		"pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_32000", "pcm_44100", "pcm_48000",
		"ulaw_8000",
		"wav_8000", "wav_16000", "wav_22050", "wav_24000", "wav_32000", "wav_44100", "wav_48000",
	}
}

// outputFormat maps SpeechRequest.Format to ElevenLabs' output_format.
// A short codec name picks a default quality; a full ElevenLabs name
// ("mp3_22050_32") passes through, so callers can choose any of them.
func outputFormat(format string, streaming bool) (string, error) {
	f := strings.ToLower(strings.TrimSpace(format))
	switch f {
	case "", "mp3", "mpeg":
		return "mp3_44100_128", nil
	case "pcm":
		f = "pcm_44100"
	case "opus":
		f = "opus_48000_128"
	case "wav":
		f = "wav_44100"
	case "ulaw", "mulaw", "mu-law", "μ-law":
		f = "ulaw_8000"
	case "alaw", "a-law":
		f = "alaw_8000"
	}
	known := false
	for _, o := range outputFormats() {
		if o == f {
			known = true
			break
		}
	}
	if !known {
		return "", provider.Errorf(provider.KindInvalidRequest, "elevenlabs: audio format %q is not offered (mp3, pcm, opus, wav, ulaw, alaw or an ElevenLabs output_format such as mp3_22050_32)", format)
	}
	if streaming && strings.HasPrefix(f, "wav_") {
		return "", provider.Errorf(provider.KindInvalidRequest, "elevenlabs: audio format %q is not offered by the streaming endpoint", format)
	}
	return f, nil
}

// mimeFor is the media type of an output_format, used when the response
// does not name an audio type itself.
func mimeFor(format string) string {
	codec, _, _ := strings.Cut(format, "_")
	switch codec {
	case "pcm":
		return "audio/pcm"
	case "opus":
		return "audio/opus"
	case "wav":
		return "audio/wav"
	case "ulaw":
		return "audio/basic"
	case "alaw":
		return "audio/x-alaw-basic"
	}
	return "audio/mpeg"
}

// acceptFor is the Accept header for a format: the documented audio/mpeg
// for mp3, anything for the rest, since the vendor's spec names no other
// response type and a strict server must not refuse them.
func acceptFor(format string) string {
	if strings.HasPrefix(format, "mp3_") {
		return "audio/mpeg"
	}
	return "*/*"
}
