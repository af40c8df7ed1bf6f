"""A few instruction-data examples shipped with the lab, so the page works without PIZARRA_DATA.

From self-instruct's seed_tasks.jsonl (Wang et al. 2022, Apache-2.0); the whole set is browsed
through ``pizarra.assets.datasets.load_self_instruct`` when the data folder is there.
"""

EXAMPLES = [
    {
        "id": "seed_task_1",
        "name": "antonym_relation",
        "instruction": "What is the relation between the given pairs?",
        "input": "Night : Day :: Right : Left",
        "output": "The relation between the given pairs is that they are opposites.",
    },
    {
        "id": "seed_task_7",
        "name": "idiom_meaning",
        "instruction": "Explain the following idiom to me, and try to give me some examples.",
        "input": "black sheep",
        "output": "Meaning: An outcast. Someone who doesn’t fit in with the rest of the crowd. They take pride in "
        "being different. Thinks for themselves and doesn’t care what no one else has to say. They tend "
        "to ride their own wave and are usually loners because no one understands them, but its okay "
        "because they like it that way.\n"
        "Example: He’s the black sheep of the family.",
    },
    {
        "id": "seed_task_8",
        "name": "english_haiku_generation",
        "instruction": "Generate a haiku using the following word:",
        "input": "summer",
        "output": "The chill, worming in\nShock, pleasure, bursting within\nSummer tongue awakes",
    },
    {
        "id": "seed_task_15",
        "name": "analogy_completion",
        "instruction": "To make the pairs have the same analogy, write the fourth word.",
        "input": "Instability : Turmoil:: Change :",
        "output": "Instability : Turmoil :: Change : Revolution",
    },
    {
        "id": "seed_task_21",
        "name": "fun_math_question",
        "instruction": "Create a fun math question for children.",
        "input": "",
        "output": "I am an odd number. Take away one letter and I become even. What number am I?",
    },
    {
        "id": "seed_task_25",
        "name": "perfect_numbers",
        "instruction": "Find the four smallest perfect numbers.",
        "input": "",
        "output": "6, 28, 496, and 8128",
    },
    {
        "id": "seed_task_35",
        "name": "solving_equation",
        "instruction": "Solving the equation and find the value of X. Show your steps.",
        "input": "10X + 5 = 10",
        "output": "10X = 5\nX = 0.5",
    },
    {
        "id": "seed_task_38",
        "name": "synonym_generation",
        "instruction": "Come up with the synonyms of the word.",
        "input": "surprisingly",
        "output": "amazingly, astonishingly, unexpectedly, incredibly, unbelievably",
    },
]
