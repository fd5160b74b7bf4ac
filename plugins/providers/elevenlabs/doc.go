// Command oneflow-provider-elevenlabs is the OneFlow provider plugin for
// ElevenLabs text to speech.
//
// A speech request becomes POST {base}/v1/text-to-speech/{voice_id}
// (operation text_to_speech_full), or .../stream (text_to_speech_stream)
// when the provider block sets streaming = "true"; either way the whole
// audio is returned in one piece. Settings read from the provider block's
// options:
//
//	default_voice_id   voice used when the request names none (21m00Tcm4TlvDq8ikWAM, "Rachel")
//	default_model_id   model used when the request names none (eleven_multilingual_v2)
//	streaming          "true" to use the streaming endpoint
//	stability, similarity_boost, style, use_speaker_boost
//	                   voice_settings overrides sent with every request
//
// Without a read_timeout the non-streaming endpoint is given two minutes to
// send its response headers, which it does only once all the audio is made.
//
// ElevenLabs bills per character. Usage.Characters is the vendor's
// character-cost response header when present; otherwise the plugin counts
// the text's characters itself and marks the usage Estimated.
package main
