"""What people call things, as the search reads a query: data only (catalog.search uses it).

Every word is casefolded and without accents, as `catalog.search.tokens` spells it; the
tests in tests/catalog/test_search_vocabulary.py hold these tables to that and to the
bundled catalog (each task names a real category, each offer a real facet value).
"""

from __future__ import annotations


def _listed(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words that carry no request of their own ("make a video from an image"): a model need not
# match them. A query made only of them still searches for them.
FILLER = _listed(
    "a an the of from for with to into in on at by via and or my me our your i we you it its "
    "this that these those some any another please make create generate generates generating "
    "turn turns get want need using use used can do does how model models ai tool tools app "
    "something thing things new"
)

# Words that name the same thing: a model matching another word of the group answers the
# query's word too, a little below the word as typed. An entry with spaces means all its
# words ("face swap"). Words with the same stem (upscale, upscaler, upscaling) need no
# entry: the stemmer joins them.
SAME: tuple[tuple[str, ...], ...] = (
    ("image", "photo", "picture", "pic", "img", "photograph", "selfie"),
    ("video", "clip", "movie", "footage", "film"),
    ("music", "song", "melody", "soundtrack"),
    ("speech", "voice", "spoken"),
    ("audio", "sound"),
    ("background", "bg", "backdrop"),
    ("3d", "mesh"),
    ("upscale", "super resolution", "enlarge"),
    ("faceswap", "face swap", "swap"),
    ("lipsync", "lip sync"),
    ("tryon", "try on", "vton"),
    ("colorize", "colourise", "colorise", "colourize", "colorization", "colourisation"),
    ("transcribe", "transcription", "transcript", "transcriber"),
    ("remove", "removal", "erase", "eraser", "rembg"),
    ("avatar", "talking head", "digital human"),
    ("caption", "describe", "captioning"),
    ("dub", "dubbing", "translate", "translation"),
    ("sfx", "sound effect", "foley"),
    ("instruction", "instruct", "prompt edit"),
    ("sketch", "drawing", "scribble", "lineart"),
    ("outpaint", "expand", "uncrop", "reframe"),
    ("cartoon", "anime", "toon", "cartoonify"),
)

# The media a task turns into one another: "<from> to <to>", "<to> from <from>" and
# "<from> into <to>" name the category "<from>-to-<to>" (when the catalog has it).
MEDIA = {
    "text": "text", "prompt": "text", "image": "image", "photo": "image", "picture": "image",
    "pic": "image", "img": "image", "photograph": "image", "video": "video", "clip": "video",
    "movie": "video", "footage": "video", "audio": "audio", "sound": "audio", "music": "audio",
    "song": "audio", "speech": "speech", "voice": "speech", "podcast": "speech", "3d": "3d",
    "mesh": "3d",
    "json": "json",
}  # fmt: skip
# The words between the two media of a task ("3d model from a picture"); filler also is.
TASK_LINKS = ("to", "from", "into")
# Words that may come before such a task ("convert text to speech"), besides filler and
# words in -ing that say what kind ("a talking video from audio"): any other word makes the
# media its object ("lip sync a video to audio" is no video-to-audio).
TASK_VERBS = _listed("convert converts converting transform render produce extract separate")

# Words and phrases that name a task outright: the category ranked first.
TASKS: dict[tuple[str, ...], str] = {
    ("tts",): "text-to-speech",
    ("aloud",): "text-to-speech",
    ("narrate",): "text-to-speech",
    ("narration",): "text-to-speech",
    ("voiceover",): "text-to-speech",
    ("voice", "over"): "text-to-speech",
    ("stt",): "speech-to-text",
    ("asr",): "speech-to-text",
    ("transcribe",): "speech-to-text",
    ("transcription",): "speech-to-text",
    ("speech", "recognition"): "speech-to-text",
    ("i2v",): "image-to-video",
    ("animate",): "image-to-video",
    ("t2v",): "text-to-video",
    ("t2i",): "text-to-image",
    ("i2i",): "image-to-image",
    ("v2v",): "video-to-video",
    ("llm",): "llm",
    ("chatbot",): "llm",
    ("language", "model"): "llm",
    ("finetune",): "training",
    ("fine", "tune"): "training",
    ("train",): "training",
}

# Price words: never a filter by themselves; the page offers the cheapest first.
CHEAP = _listed("cheap cheaper cheapest affordable inexpensive budget lowcost")
# "with audio", "with a seed": what the schema states, offered as a filter (facet, value).
CAPABILITIES: dict[tuple[str, ...], tuple[str, str]] = {
    ("with", "audio"): ("outputs", "audio"),
    ("with", "sound"): ("outputs", "audio"),
    ("with", "seed"): ("has", "seed"),
    ("with", "negative", "prompt"): ("has", "negative_prompt"),
}
