"""Write reviews.csv: short, synthetic product reviews labelled positive or negative.

    python examples/text/make_reviews.py

The reviews are not real. Each is composed from the word lists below by a fixed
pseudo-random generator (seeded, so every run writes the same file), and its label
follows from its words by three rules:

1. A clause such as "the battery is reliable" takes the polarity of its adjective.
2. "not" before the adjective ("the battery is not reliable") flips it.
3. Two clauses joined by "and" agree; joined by "but", they disagree and the clause
   after "but" decides ("the price is fair but the hinge is flimsy" is negative).

Rules 2 and 3 depend on word order: the same words in another order can carry the
other label, so a model that reads the sequence (an LSTM, a Transformer) can learn the
rules, while a bag of words cannot tell such reviews apart. Openers and closers ("Ordered
a kettle for my kitchen.", "Would not buy another brand anyway.") are neutral filler on
purpose: their "not" carries no sentiment, so "not" alone does not decide the label.

Like real ratings, which sometimes disagree with the words, a fixed 4% of the labels
(chosen by the same generator) are flipped against the rules: no model should score much
above 96% accuracy, and one that fits the training split perfectly has learnt the noise.

Columns: `review` (the text) and `sentiment` (`positive` or `negative`). The rules give
each label to half the reviews; after the flips the split is 1210 positive, 1190 negative.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = 2400
SEED = 20240601
FLIPPED = 0.04

PRODUCTS = ["blender", "kettle", "laptop", "headphones", "backpack", "desk lamp", "phone case", "coffee grinder",
            "keyboard", "toaster", "water bottle", "camera", "vacuum", "office chair", "tent", "speaker"]
ASPECTS = ["battery", "price", "screen", "lid", "handle", "motor", "cable", "hinge", "fabric", "zipper", "sound",
           "build", "finish", "button", "strap", "manual", "packaging", "fan", "charger", "stand"]
POSITIVE = ["great", "excellent", "reliable", "sturdy", "solid", "fair", "comfortable", "quiet", "smooth",
            "lovely", "impressive", "durable", "clear", "fantastic", "well made"]
NEGATIVE = ["awful", "flimsy", "noisy", "terrible", "cheap", "broken", "disappointing", "loose", "weak",
            "fragile", "poor", "useless", "scratchy", "faulty", "overpriced"]
INTENSIFIERS = ["", "", "", "really ", "very ", "quite ", "rather ", "surprisingly "]
NEGATED_INTENSIFIERS = ["", "", "very ", "really ", "at all "]
VERBS = ["is", "was", "feels", "seems"]
OPENERS = ["", "", "", "I bought this {product} last month. ", "Got the {product} as a gift. ",
           "Ordered a {product} for my kitchen. ", "Second {product} from this brand. ",
           "Used the {product} every day for a week. ", "My old {product} died, so I tried this one. "]
CLOSERS = ["", "", "", " Would not buy another brand anyway.", " Delivery took four days.",
           " It arrived in a plain box.", " Comes in three colors.", " My partner uses it too.",
           " Not sure about the color."]


def clause(rng: random.Random, polarity: int) -> str:
    """A clause whose meaning has `polarity` (+1 positive, -1 negative)."""
    negated = rng.random() < 0.35
    # A negated clause says the opposite of its adjective: "not reliable" is negative.
    words = POSITIVE if (polarity > 0) != negated else NEGATIVE
    if negated:
        return f"the {rng.choice(ASPECTS)} {rng.choice(VERBS)} not {_degree(rng, NEGATED_INTENSIFIERS, words)}"
    return f"the {rng.choice(ASPECTS)} {rng.choice(VERBS)} {_degree(rng, INTENSIFIERS, words)}"


def _degree(rng: random.Random, intensifiers: list[str], adjectives: list[str]) -> str:
    intensifier, adjective = rng.choice(intensifiers), rng.choice(adjectives)
    return f"{adjective} at all" if intensifier == "at all " else intensifier + adjective


def review(rng: random.Random, label: int) -> str:
    """One review whose sentiment is `label` (+1 or -1)."""
    shape = rng.random()
    if shape < 0.4:
        body = clause(rng, label)
    elif shape < 0.65:
        body = f"{clause(rng, label)} and {clause(rng, label)}"
    else:
        body = f"{clause(rng, -label)} but {clause(rng, label)}"
    product = rng.choice(PRODUCTS)
    opener = rng.choice(OPENERS).format(product=product)
    return opener + body[0].upper() + body[1:] + "." + rng.choice(CLOSERS)


def rows(count: int = ROWS, seed: int = SEED) -> list[tuple[str, str]]:
    """`count` distinct (review, sentiment) pairs; the rules give each label to every other review."""
    rng = random.Random(seed)
    seen: set[str] = set()
    result = []
    while len(result) < count:
        label = 1 if len(result) % 2 == 0 else -1
        text = review(rng, label)
        if text in seen:
            continue
        seen.add(text)
        if rng.random() < FLIPPED:
            label = -label
        result.append((text, "positive" if label > 0 else "negative"))
    rng.shuffle(result)
    return result


def main() -> None:
    path = HERE / "reviews.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["review", "sentiment"])
        writer.writerows(rows())
    print("wrote", path)


if __name__ == "__main__":
    main()
