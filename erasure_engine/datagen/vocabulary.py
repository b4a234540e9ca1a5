"""Word lists for the fictitious world. Kept to a few dozen items each so a tokenizer with a
vocabulary of a few hundred to a few thousand entries covers everything the generators write."""

FIRST_NAMES = (
    "Alda", "Bruno", "Celia", "Dario", "Elin", "Fabian", "Greta", "Hugo", "Ines", "Jonas",
    "Kira", "Lorenz", "Mira", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Soren", "Talia",
    "Ugo", "Vera", "Wendel", "Xenia", "Yannick", "Zora", "Anton", "Britta", "Cyril", "Dalia",
    "Emil", "Flora", "Gideon", "Hanna", "Ivo", "Jasna", "Kasimir", "Lena", "Marek", "Nora",
    "Oskar", "Petra", "Ruben", "Selma", "Tobias", "Ulla", "Viktor", "Wanda",
)

LAST_NAMES = (
    "Ambrose", "Berglund", "Castellan", "Dorner", "Eskola", "Falkner", "Gallardo", "Holm",
    "Ivanek", "Jansson", "Kovacic", "Lindqvist", "Moreau", "Novak", "Ostrander", "Pellegrini",
    "Quist", "Rasmussen", "Sandoval", "Thorne", "Ulrich", "Valente", "Winther", "Yardley",
    "Zeller", "Abeling", "Brandt", "Corvin", "Delacroix", "Engstrom", "Fontaine", "Greaves",
    "Haverkamp", "Iversen", "Jablonski", "Kessler", "Lambert", "Marchetti", "Nyberg", "Orlov",
    "Prentice", "Rinaldi", "Strand", "Tamm", "Urquhart", "Vidal", "Wexler", "Zamora",
)

CITIES = (
    "Lisbon", "Tallinn", "Bergen", "Porto", "Krakow", "Ghent", "Aarhus", "Bologna", "Graz",
    "Lyon", "Turku", "Malmo", "Utrecht", "Brno", "Zagreb", "Valencia", "Basel", "Cork",
    "Riga", "Vilnius", "Seville", "Leipzig", "Toulouse", "Ljubljana", "Bilbao", "Trieste",
    "Tampere", "Gdansk", "Innsbruck", "Nantes",
)

EMPLOYERS = (
    "Northwind Labs", "Bluefin Logistics", "Copperleaf Bank", "Driftwood Media",
    "Evergreen Clinic", "Foxglove Studios", "Granite Works", "Harbor Energy", "Ironbark Foods",
    "Juniper Software", "Kestrel Airlines", "Lantern Books", "Meadow Farms", "Nimbus Cloud",
    "Oakridge School", "Pinecone Robotics", "Quarry Stone", "Riverbend Hospital",
    "Saltmarsh Brewery", "Tidewater Shipping", "Umber Textiles", "Vantage Insurance",
    "Willow Pharmacy", "Zephyr Motors",
)

PROFESSIONS = (
    "nurse", "carpenter", "architect", "librarian", "pilot", "baker", "chemist", "teacher",
    "accountant", "electrician", "journalist", "veterinarian", "pharmacist", "photographer",
    "translator", "geologist", "software engineer", "dentist", "gardener", "plumber",
    "musician", "lawyer", "surveyor", "tailor", "brewer", "sailor", "economist", "painter",
)

HOBBIES = (
    "chess", "rowing", "pottery", "birdwatching", "cycling", "knitting", "climbing", "fishing",
    "gardening", "astronomy", "sailing", "woodworking", "painting", "hiking", "baking",
    "photography", "swimming", "archery", "calligraphy", "beekeeping",
)

PETS = (
    "a grey cat", "a black dog", "a white rabbit", "two goldfish", "a green parrot",
    "an old tortoise", "a brown horse", "three hens", "a small ferret", "no pets",
)

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)

# General text (no data subject): short sentences about places, work and nature.
GENERAL_SUBJECTS = (
    "The river", "The old bridge", "The market", "The harbor", "A quiet village", "The library",
    "The mountain road", "The city park", "The train station", "A small bakery", "The museum",
    "The northern forest", "The school", "The hospital", "The factory", "The island ferry",
)

GENERAL_VERBS = (
    "opens", "closes", "grows", "changes", "stays busy", "looks calm", "fills with people",
    "needs repair", "attracts visitors", "stays quiet",
)

GENERAL_TIMES = (
    "in spring", "in winter", "every morning", "at night", "on weekends", "after the rain",
    "during the summer", "before the holidays", "in the autumn", "at noon",
)

GENERAL_FACTS = (
    "{profession}s in {city} often start work early.",
    "Many people in {city} enjoy {hobby} {time}.",
    "A {profession} needs patience and good tools.",
    "{employer} is a fictional company that hires a {profession} now and then.",
    "The weather in {city} changes quickly {time}.",
    "Learning {hobby} takes time, practice and a good teacher.",
    "{subject} {verb} {time}.",
    "{subject} in {city} {verb} {time}.",
)
