"""English text the tiny fixtures' tokenizers are trained on: captions, questions, answers and chat lines.

The tiny models stand in for English VLMs, so their tokenizers learn English only; a test that adapts them
to French or Romanian then meets the same long, byte-split words a real English tokenizer produces.
The sentences below are written for this module (no dataset is copied); `english_corpus()` adds a few
hundred more from a small grammar, deterministically.
"""

from __future__ import annotations

CAPTIONS = (
    "A man in a red shirt rides a bicycle down a busy street.",
    "Two children play with a ball on the green grass.",
    "A brown dog runs along the beach near the water.",
    "A woman sits on a bench and reads a book in the park.",
    "Three people walk across a bridge at sunset.",
    "A little girl in a pink dress holds a balloon.",
    "A black cat sleeps on a wooden chair.",
    "An old man is playing the guitar on the sidewalk.",
    "A group of friends eat pizza at a small table.",
    "A young boy jumps into a swimming pool.",
    "Two dogs are chasing each other in the snow.",
    "A chef cooks vegetables in a large pan.",
    "A crowd watches a football match in a stadium.",
    "A woman with long hair is talking on the phone.",
    "A man climbs a steep rock wall with a rope.",
    "Several boats float on a calm blue lake.",
    "A baby laughs while sitting in a high chair.",
    "A musician plays the drums on a dark stage.",
    "A white horse stands in a field of yellow flowers.",
    "Two women are shopping at an outdoor market.",
    "A skateboarder does a trick on a concrete ramp.",
    "A man in a suit waits for the train at the station.",
    "A family has a picnic under a large tree.",
    "A firefighter sprays water on a burning house.",
    "Children in uniforms walk to school in the morning.",
    "A bird sits on the branch of a tall tree.",
    "A surfer rides a big wave in the ocean.",
    "A man is fixing the engine of an old car.",
    "A waiter carries two plates of food.",
    "People wait in line outside a small shop.",
    "A girl paints a picture of the mountains.",
    "A runner crosses the finish line of a race.",
    "A couple dances in the middle of a room.",
    "A police officer directs traffic at a crossing.",
    "A man and a woman ride horses on a dirt road.",
    "Students sit at their desks and listen to the teacher.",
    "A dog with a stick in its mouth swims in a river.",
    "A boy in a blue jacket flies a kite on the hill.",
    "Two men are building a wooden fence.",
    "A woman is washing dishes in the kitchen sink.",
    "A red bus drives past a tall building.",
    "A man sells fruit from a cart on the corner.",
    "A climber reaches the top of a snowy mountain.",
    "A cyclist in a yellow helmet races down the hill.",
    "A small child is feeding ducks at the pond.",
    "Four men play cards at a round table.",
    "A woman in a green coat walks her dog in the rain.",
    "A man is cutting wood with an axe.",
    "A team of players in white shirts celebrate a goal.",
    "A girl with glasses is writing in a notebook.",
    "A man holds an umbrella on a rainy day.",
    "Two cats sit by the window and look outside.",
    "A boy is brushing his teeth in the bathroom.",
    "A crowd of people dance at an outdoor concert.",
    "A farmer drives a tractor across the field.",
    "A woman takes a photo of the city from a rooftop.",
    "An elderly couple holds hands on a park bench.",
    "A man in an orange vest works on the road.",
    "A child sleeps in the back seat of a car.",
    "A dog catches a frisbee in the air.",
)

QUESTIONS = (
    "What is the man holding?",
    "What color is the dog?",
    "How many people are in the picture?",
    "Is there a cat in the image?",
    "Where is the woman sitting?",
    "What is the boy doing?",
    "Is it raining in the picture?",
    "What animal is shown in the image?",
    "What is on the table?",
    "Are the children playing outside?",
    "What is the weather like?",
    "What sport is being played?",
    "Is the man wearing a hat?",
    "What color is the car?",
    "How many dogs can you see?",
    "Where are the people walking?",
    "What is the girl holding in her hand?",
    "Is the water calm or rough?",
    "What time of day is it?",
    "Is anyone riding a bicycle?",
    "Describe the image in one sentence.",
    "What is happening in this picture?",
    "Which object is closest to the camera?",
    "Is the person smiling?",
    "What is the woman wearing?",
    "Answer yes or no.",
    "Answer with the option's letter.",
    "Context: the picture was taken in a city park.",
    "Options: A. a dog B. a cat C. a horse D. a bird",
    "What is written on the sign?",
)

ANSWERS = (
    "Yes.",
    "No.",
    "yes",
    "no",
    "A red ball.",
    "Two people.",
    "The dog is brown.",
    "She is sitting on a bench.",
    "He is riding a bicycle.",
    "It is sunny.",
    "Football.",
    "In the park.",
    "A book.",
    "The car is blue.",
    "It is evening.",
    "There are three dogs.",
    "The answer is B.",
    "A",
    "B",
    "C",
    "D",
    "The sign says open.",
    "A man is playing the guitar on the street.",
    "The children are playing with a ball.",
    "I do not know.",
    "There is no cat in the image.",
)

CHAT_LINES = (
    "You are a helpful assistant.",
    "Hello, how can I help you today?",
    "Please look at the image and answer the question.",
    "Thank you for your help.",
    "Can you describe what you see?",
    "The image shows a street with cars and people.",
    "Let me think about it step by step.",
    "Sure, here is a short description of the picture.",
    "I can see a person, a dog and a tree.",
    "Please answer in a single word.",
    "The system message tells the assistant how to answer the user.",
    "The user asks a question and the assistant answers it.",
    "system",
    "user",
    "assistant",
)

_SUBJECTS = ("a man", "a woman", "a child", "a dog", "a cat", "an old woman", "a young man", "two girls")
_ACTIONS = ("is standing", "is sitting", "is running", "is waiting", "is sleeping", "is eating", "is smiling")
_PLACES = ("near the river", "on the street", "in the kitchen", "under a tree", "on the beach", "in the snow")
_OBJECTS = ("dog", "cat", "car", "tree", "bicycle", "umbrella", "horse", "boat", "ball", "chair", "cup")
_COLORS = ("red", "blue", "green", "yellow", "black", "white", "brown", "orange")


def _generated() -> list[str]:
    """A few hundred short sentences from the grammar above, in a fixed order."""
    out = [f"{s[0].upper()}{s[1:]} {a} {p}." for s in _SUBJECTS for a in _ACTIONS for p in _PLACES[:3]]
    out += [f"Is there a {o} in the image?" for o in _OBJECTS]
    out += [f"The {c} {o} is {p}." for c in _COLORS for o in _OBJECTS[:6] for p in _PLACES[3:4]]
    out += [f"What color is the {o}? It is {c}." for o, c in zip(_OBJECTS, _COLORS * 2, strict=False)]
    out += [f"How many {o}s are there? There are {n}." for o in _OBJECTS for n in ("two", "three", "four")]
    return out


def english_corpus() -> list[str]:
    """Every sentence the tiny tokenizers are trained on (about 450), in a fixed order."""
    return [*CAPTIONS, *QUESTIONS, *ANSWERS, *CHAT_LINES, *_generated()]
