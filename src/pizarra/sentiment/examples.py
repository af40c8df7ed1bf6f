"""The two reviews on the lecture's IMDB slide ("Un ejemplo"), as they are in the test split."""

SLIDE_REVIEWS = [
    {
        "id": "test/neg/10228_1",
        "label": 0,
        "text": "HOW MANY MOVIES ARE THERE GOING TO BE IN WHICH AGAINST ALL ODDS, A RAGTAG TEAM BEATS THE BIG GUYS "
        'WITH ALL THE MONEY?!!!!!!!! There\'s nothing new in "The Big Green". If anything, you want them to '
        'lose. Steve Guttenberg used to have such a good resume ("The Boys from Brazil", "Police Academy", '
        '"Cocoon"). Why, OH WHY, did he have to do these sorts of movies during the 1990s and beyond?! So, '
        "just avoid this movie. There are plenty of good movies out there, so there's no reason to waste your "
        'time and money on this junk. Obviously, the "green" on their minds was money, because there\'s no '
        "creativity here. At least in recent years, Disney has produced some clever movies with Pixar.",
    },
    {
        "id": "test/pos/9892_10",
        "label": 1,
        "text": "When I first heard that the subject matter for Checking Out was a self orchestrated suicide party, my "
        "first thought was how morbid, tasteless and then a comedy on top of that. I was skeptical. But I was "
        "dead wrong. I totally loved it. The cast, the funny one liners and especially the surprise ending. "
        "Suicide is a delicate issue, but it was handled very well. Comical yes, but tender where it needed to "
        "be. Checking Out also deals with other common issues that I believe a lot of families can relate "
        "with and it does with tact and humor. I highly recommend Checking Out. A MUST SEE. I look forward to "
        "its release to the public.",
    },
]

# the lecture's table (Gallego & Ríos Insua, 2022): IMDB test accuracy in %
SLIDE_TABLE = {"lstm": 81.99, "transformer": 87.49, "roberta": 94.67}
