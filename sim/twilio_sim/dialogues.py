"""What the simulated floor's customers and agents say, when a transcription listens.

A few short conversations the project wrote: ordinary ones, some with the phrases a team
lead wants to hear about (the demo roster's `phrases`), and one where the customer pays
by card and reads out the number and the security code (which must never be stored).
A call transcribed in Japanese (`LanguageCode` ja-JP: a Japanese team, issue 23) hears
Japanese ones, written as a Japanese engine writes them: no spaces between words,
numbers in digits.
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


JAPANESE: tuple[tuple[Line, ...], ...] = (
    (
        ("agent", "お電話ありがとうございます、サポート窓口でございます"),
        ("customer", "先月から請求が二重になっていて、何度電話しても直らないんです"),
        ("agent", "大変申し訳ございません、ただいまお調べいたします"),
        ("customer", "もう三回目ですよ、責任者を出してください"),
        ("agent", "かしこまりました、二重の請求はすぐに返金いたします"),
        ("customer", "次に同じことがあったら解約しますからね"),
    ),
    (
        ("agent", "お待たせいたしました、お支払いの窓口でございます"),
        ("customer", "未払いの料金をカードで払いたいんですが"),
        ("agent", "かしこまりました、カード番号をお願いいたします"),
        ("customer", "はい、4111 1111 1111 1111です"),
        ("agent", "ありがとうございます、裏面のセキュリティコードもお願いします"),
        ("customer", "737です"),
        ("agent", "ありがとうございます、お支払いが完了いたしました"),
    ),
    (
        ("agent", "お電話ありがとうございます、ご注文窓口でございます"),
        ("customer", "昨日注文したクレームブリュレがまだ届いていないんですけど"),
        ("agent", "申し訳ございません、配送状況を確認いたします"),
        ("customer", "今日の夕方までに届きますか"),
        ("agent", "はい、本日十八時までにお届けの予定です"),
        ("customer", "わかりました、ありがとうございます"),
    ),
    (
        ("agent", "お電話ありがとうございます、カスタマーセンターでございます"),
        ("customer", "引っ越しをするので、住所の変更をお願いしたいです"),
        ("agent", "かしこまりました、新しいご住所をお願いいたします"),
        ("customer", "東京都港区の三丁目です"),
        ("agent", "ありがとうございます、変更を承りました"),
        ("customer", "よろしくお願いします"),
    ),
    (
        ("agent", "お待たせいたしました、契約窓口でございます"),
        ("customer", "サービスのクレームを言いたいんですけど、ずっとつながらないんです"),
        ("agent", "ご不便をおかけして申し訳ございません"),
        ("customer", "このままなら弁護士に相談します"),
        ("agent", "担当部署から本日中にご連絡いたします"),
    ),
)


def pick(rng: random.Random, language: str = "en-US") -> tuple[Line, ...]:
    """A conversation in the language the call is transcribed in (English otherwise)."""
    choices = JAPANESE if language.lower().startswith("ja") else DIALOGUES
    return choices[rng.randrange(len(choices))]
