"""What the simulated floor's customers and agents say, when a transcription listens.

A few short conversations the project wrote: ordinary ones, some with the phrases a team
lead wants to hear about (the demo roster's `phrases`), and one where the customer pays
by card and reads out the number and the security code (which must never be stored).
"""

from __future__ import annotations

import random

Line = tuple[str, str]  # (customer | agent, what they say)

DIALOGUES: tuple[tuple[Line, ...], ...] = (
    (
        ("agent", "Thank you for calling, this is the sales line, how can I help you today"),
        ("customer", "Hi, I saw the new plan on your website and I have a few questions"),
        ("agent", "Of course, which plan are you looking at"),
        ("customer", "The family plan with the extra data, does it include roaming"),
        ("agent", "It does, roaming in forty countries is included at no extra cost"),
        ("customer", "Great, then I would like to sign up today"),
    ),
    (
        ("agent", "Thanks for holding, how can I help"),
        ("customer", "I have been charged twice this month and nobody has fixed it"),
        ("agent", "I am sorry about that, let me look at your account"),
        ("customer", "This is the third time I call, I want to speak to your manager"),
        ("agent", "I understand, I can see the double charge and I will refund it now"),
        ("customer", "If this happens again I will cancel my account"),
    ),
    (
        ("agent", "Billing department, how can I help you"),
        ("customer", "I would like to pay my overdue balance by card"),
        ("agent", "Certainly, can you read me the long number on the card"),
        ("customer", "Yes it is 4111 1111 1111 1111"),
        ("agent", "Thank you, and the security code on the back"),
        ("customer", "It is 737"),
        ("agent", "Thank you, the payment went through"),
    ),
    (
        ("agent", "Support, this is your technician speaking"),
        ("customer", "My internet drops every evening around eight"),
        ("agent", "Let me run a line test while we talk"),
        ("customer", "Honestly I am thinking of switching to Globex"),
        ("agent", "I see a fault on the line, I will book an engineer for tomorrow"),
        ("customer", "Okay, morning please"),
    ),
    (
        ("agent", "Hello, you are through to customer care"),
        ("customer", "I want to cancel my account, I am moving abroad"),
        ("agent", "I can help with that, may I ask where you are moving"),
        ("customer", "To Lisbon, next month"),
        ("agent", "We have partners there, I can send you the details"),
        ("customer", "Thank you, that would be helpful"),
    ),
)


def pick(rng: random.Random) -> tuple[Line, ...]:
    return DIALOGUES[rng.randrange(len(DIALOGUES))]
