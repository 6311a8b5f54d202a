#!/usr/bin/env python3
"""Independent evaluation set v2 for the PII redactor (issue 22).

Written afresh for issue 22, without sight of the redactor's rules, its word lists, its own
generator (`../gen_eval.py`), its hand-written cases or its results: the surface forms below
come from what Canadian dealership text looks like (service / RO notes, F&I desk notes,
deal-jacket remarks, customer e-mails, CRM and BDC logs, copied web-form leads, warranty
claims, trade-in appraisals), in English, Quebec French and mixed notes.

Python 3 standard library only; seeded and deterministic: the same command writes the same
bytes. Run from anywhere:

    python3 crates/pipeline/eval/v2/gen_v2.py            # writes tune.jsonl and test.jsonl here
    python3 crates/pipeline/eval/v2/gen_v2.py --out DIR  # elsewhere

Each output line is one JSON object:
    {"id", "lang": "en"|"fr"|"mixed", "kind", "text",
     "pii":  [{"byte_start", "byte_end", "type"}],
     "keep": [{"byte_start", "byte_end", "type"}]}
with UTF-8 byte offsets, end exclusive. Every span is checked here: its bytes decode on char
boundaries to exactly the value that was inserted, PII spans never overlap each other or a
keep span, and the unlabelled text between spans is audited for anything shaped like an
e-mail address, a postal code or a run of nine or more digits (which would be an unlabelled
entity and a labelling bug).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import sys
import unicodedata
from collections import Counter, defaultdict

SEED = 220022
N_TEXTS = 1500
TUNE_PERCENT = 40  # of each stratum, by a hash of the id; the rest is the measured test part

PII_TYPES = ["SIN", "PHONE", "EMAIL", "NAME", "ADDRESS", "POSTAL_CODE", "PLATE", "DOB", "DRIVERS_LICENCE"]
KEEP_TYPES = [
    "STOCK", "DEAL", "RO", "VIN", "AMOUNT", "DATE", "PERSONNEL", "BN", "NUM9", "PO", "CLAIM", "KM", "PART", "TIME",
    "INVOICE", "OPCODE", "CAMPAIGN", "TSB", "DTC", "TAG", "NEQ", "QST", "LEAD", "APPT",
]

# ----------------------------------------------------------------------------------------------
# Data banks
# ----------------------------------------------------------------------------------------------

GIVEN = {
    ("fr", "m"): [
        "Jean", "Jean-François", "Pierre-Luc", "Marc-André", "Jean-Philippe", "Stéphane", "Frédéric", "Sébastien",
        "Mathieu", "François", "Benoît", "Jérôme", "Gaétan", "Réjean", "Ghislain", "Luc", "Guy", "Martin", "Éric",
        "Alexandre", "Maxime", "Olivier", "Simon", "Félix", "Étienne", "Jean-Guy", "Normand", "Yves", "Denis",
        "André", "Michel", "Sylvain", "Patrice", "Louis-Philippe", "Samuel", "Gabriel", "Émile", "Raphaël",
        "Hugo", "Jonathan", "Dany", "Jocelyn", "Rémi", "Jean-Sébastien", "Marc-Antoine", "Gilles", "Serge",
    ],
    ("fr", "f"): [
        "Marie-Ève", "Marie-Josée", "Anne-Marie", "Marie-Claude", "Marie-Pier", "Hélène", "Geneviève", "Mélanie",
        "Josée", "Chloé", "Zoé", "Noémie", "Élodie", "Andrée", "Léa", "Sylvie", "Nathalie", "Isabelle", "Julie",
        "Caroline", "Valérie", "Émilie", "Catherine", "Stéphanie", "Annie", "Karine", "Mélissa", "Audrey",
        "Josiane", "Ginette", "Lise", "Francine", "Diane", "Manon", "Johanne", "Céline", "Maude", "Rosalie",
        "Béatrice", "Océane", "Ève", "Marie-Hélène", "Sophie", "Chantal", "Marie-Soleil", "Lucie", "Danielle",
    ],
    ("en", "m"): [
        "John", "Michael", "David", "Robert", "James", "Kevin", "Ryan", "Tyler", "Brandon", "Jason", "Matthew",
        "Christopher", "Daniel", "Mark", "Brian", "Scott", "Steven", "Andrew", "Justin", "Kyle", "Connor", "Liam",
        "Ethan", "Owen", "Gord", "Doug", "Wayne", "Darren", "Trevor", "Cody", "Graham", "Ian", "Colin", "Derek",
        "Patrick", "Sean", "Shawn", "Brent", "Curtis", "Travis",
    ],
    ("en", "f"): [
        "Sarah", "Jennifer", "Karen", "Ashley", "Brittany", "Megan", "Jessica", "Amanda", "Emily", "Lauren",
        "Nicole", "Heather", "Kimberly", "Michelle", "Laura", "Rebecca", "Samantha", "Courtney", "Kayla",
        "Chelsea", "Olivia", "Emma", "Hannah", "Madison", "Lindsay", "Tracy", "Shannon", "Erin", "Kelly",
        "Mary-Ann", "Sarah-Jane", "Ann-Marie", "Debbie", "Brenda", "Krista", "Tanya", "Crystal",
    ],
}

# Customers of other origins, by group, so that given names and surnames go together.
OTHER_GROUPS = {
    "south_asian": (["Harpreet", "Gurpreet", "Jaspreet", "Manpreet", "Rajesh", "Arjun", "Vikram", "Ravi", "Amandeep", "Sandeep"],
                    ["Priya", "Simran", "Navneet", "Harleen", "Kiran", "Pooja", "Amrit", "Jasleen"],
                    ["Singh", "Patel", "Sharma", "Gill", "Dhillon", "Sandhu", "Grewal", "Bhatt", "Mehta", "Sidhu", "Brar", "Kaur"]),
    "arabic": (["Mohammed", "Ahmed", "Omar", "Yusuf", "Hassan", "Tariq", "Karim", "Élie", "Georges", "Rami", "Samir"],
               ["Fatima", "Aisha", "Mariam", "Yasmine", "Leila", "Nadia", "Rania", "Noor", "Farah", "Aïcha", "Rim"],
               ["Khan", "Ahmed", "Ali", "Hussain", "Haddad", "Khoury", "Mansour", "Hamdan", "Benali", "Nasser", "Bouchama", "El Amrani"]),
    "east_asian": (["Wei", "Jun", "Minh", "Duc", "Ji-hoon", "Hyun-woo", "Kenji", "Hao", "Quang", "Min-jun"],
                   ["Mei", "Xiu", "Linh", "Thi Hoa", "Seo-yeon", "Yuki", "Li Na", "Ngoc Anh", "Ji-woo"],
                   ["Nguyen", "Chen", "Wong", "Li", "Kim", "Lee", "Tran", "Pham", "Zhang", "Wang", "Liu", "Huang", "Park",
                    "Choi", "Nakamura", "Tanaka", "Lin", "Dang"]),
    "african_haitian": (["Oluwaseun", "Chidi", "Kwame", "Mamadou", "Jean-Robert", "Wilner", "Ousmane", "Emeka"],
                        ["Ngozi", "Amara", "Guerda", "Marie-Carmelle", "Fatou", "Awa", "Nadège"],
                        ["Okafor", "Mensah", "Diallo", "Traoré", "Joseph", "Pierre", "Jean-Louis", "Saint-Fleur", "Adeyemi", "Bamba"]),
    "latin_south_europe": (["João", "Giuseppe", "Andrés", "José", "Luis", "Marco", "Tiago", "Carlos"],
                           ["Ana", "Sofia", "Giulia", "María José", "Lucía", "Francesca", "Inês"],
                           ["Rodriguez", "Silva", "Santos", "Rossi", "Russo", "Ferreira", "Fernandes", "Gonçalves", "Bianchi",
                            "Moreira", "Gomez", "Esposito"]),
    "east_europe": (["Dmitri", "Ioan", "Tomasz", "Andriy", "Piotr", "Mihai"],
                    ["Olena", "Katarzyna", "Irina", "Oksana", "Magdalena", "Elena"],
                    ["Kowalski", "Nowak", "Ivanova", "Petrov", "Popescu", "Shevchenko", "Kovalenko", "Wiśniewski", "Ionescu"]),
}

SURNAMES = {
    "fr": [
        "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Gagné",
        "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Bergeron", "Leblanc", "Paquette", "Girard", "Simard",
        "Boucher", "Caron", "Beaulieu", "Cloutier", "Dubé", "Poirier", "Fournier", "Lapointe", "Leclerc",
        "Lefebvre", "Poulin", "Thibault", "Desjardins", "Lamontagne", "Beauchemin", "Thériault", "Cormier",
        "Arsenault", "Bourque", "Doiron", "Hébert", "Charbonneau", "Racine", "Séguin", "Théberge",
        "Vaillancourt", "Deschênes", "Langlois", "Béliveau", "Paré", "Marcoux", "Grenier", "Drouin", "Rousseau",
        "Brisebois", "Labrecque", "Nadeau", "Gendron", "Bédard", "Proulx", "Champagne", "Larochelle", "Giroux",
    ],
    "en": [
        "Smith", "Brown", "Wilson", "Campbell", "Stewart", "Taylor", "Anderson", "Martin", "Thompson", "White",
        "Fraser", "Robertson", "Johnston", "Murray", "Reid", "Graham", "Hamilton", "Kennedy", "Walsh", "Murphy",
        "Kelly", "Ryan", "Doyle", "Bennett", "Clarke", "Hughes", "Parsons", "Pike", "Penney", "Gillis",
        "Chisholm", "Fitzgerald", "Henderson", "Morrison", "Cameron", "Baker", "Young", "Mitchell", "Harris",
        "Clark", "Lewis", "Hall", "Wright", "Ross", "Scott", "Sutherland", "Mackay",
    ],
    "particle": [
        "St-Pierre", "St-Onge", "Ste-Marie", "St-Laurent", "de Grandpré", "de la Chevrotière", "D'Amours",
        "D'Aoust", "Des Rosiers", "Du Sault", "O'Brien", "O'Neill", "O'Connor", "McKenzie", "McLean",
        "MacDonald", "MacLeod", "McGrath", "Van Houten", "van der Meer", "DeMarco", "Di Stefano", "da Silva",
        "dos Santos", "El-Khoury", "Abou-Jaoude", "LeBlanc", "St-Amand", "Saint-Louis", "Jean-Baptiste",
        "de Souza", "Le Goff", "D'Souza", "Ste-Croix", "St-Jean", "McIntyre", "O'Reilly", "de Montigny",
    ],
}

# City, province, FSAs (real forward sortation areas of the city), area codes of the city.
CITIES = [
    ("Montréal", "Montreal", "QC", ["H2L", "H2X", "H3B", "H1M", "H4A", "H2J", "H3Z", "H1E", "H8N", "H2S"], ["514", "438", "263"]),
    ("Québec", "Quebec City", "QC", ["G1R", "G1V", "G2E", "G1K", "G1S"], ["418", "581", "367"]),
    ("Laval", "Laval", "QC", ["H7N", "H7T", "H7W", "H7V"], ["450", "579", "354"]),
    ("Longueuil", "Longueuil", "QC", ["J4K", "J4H", "J4J"], ["450", "579"]),
    ("Gatineau", "Gatineau", "QC", ["J8Y", "J9H", "J8T", "J8P"], ["819", "873"]),
    ("Sherbrooke", "Sherbrooke", "QC", ["J1H", "J1L", "J1J"], ["819", "873"]),
    ("Trois-Rivières", "Trois-Rivieres", "QC", ["G8Y", "G9A", "G8T"], ["819", "873"]),
    ("Lévis", "Levis", "QC", ["G6V", "G6W", "G6Z"], ["418", "581"]),
    ("Saint-Jérôme", "St-Jerome", "QC", ["J7Z", "J7Y"], ["450", "579"]),
    ("Terrebonne", "Terrebonne", "QC", ["J6W", "J6X"], ["450", "579"]),
    ("Saint-Hyacinthe", "St-Hyacinthe", "QC", ["J2S", "J2T"], ["450", "579"]),
    ("Drummondville", "Drummondville", "QC", ["J2B", "J2C"], ["819", "873"]),
    ("Rimouski", "Rimouski", "QC", ["G5L", "G5M"], ["418", "581"]),
    ("Saguenay", "Saguenay", "QC", ["G7H", "G7J"], ["418", "581"]),
    ("Granby", "Granby", "QC", ["J2G", "J2H"], ["450", "579"]),
    ("Brossard", "Brossard", "QC", ["J4W", "J4Z"], ["450", "579"]),
    ("Repentigny", "Repentigny", "QC", ["J6A", "J5Y"], ["450", "579"]),
    ("Toronto", "Toronto", "ON", ["M5H", "M4C", "M6P", "M1B", "M9W", "M3C", "M2N", "M6H", "M4L"], ["416", "647", "437"]),
    ("Mississauga", "Mississauga", "ON", ["L5B", "L4Z", "L5N", "L4Y"], ["905", "289", "365"]),
    ("Brampton", "Brampton", "ON", ["L6T", "L6Y", "L6R"], ["905", "289", "365"]),
    ("Ottawa", "Ottawa", "ON", ["K1P", "K2P", "K1S", "K2G", "K1K"], ["613", "343"]),
    ("Hamilton", "Hamilton", "ON", ["L8P", "L9C", "L8L"], ["905", "289"]),
    ("London", "London", "ON", ["N6A", "N5V", "N6C"], ["519", "226", "548", "382"]),
    ("Markham", "Markham", "ON", ["L3R", "L3P"], ["905", "289"]),
    ("Oakville", "Oakville", "ON", ["L6J", "L6H"], ["905", "289"]),
    ("Kitchener", "Kitchener", "ON", ["N2G", "N2M"], ["519", "226", "548"]),
    ("Windsor", "Windsor", "ON", ["N9A", "N8X"], ["519", "226"]),
    ("Barrie", "Barrie", "ON", ["L4M", "L4N"], ["705", "249"]),
    ("Sudbury", "Sudbury", "ON", ["P3E", "P3A"], ["705", "249", "683"]),
    ("Thunder Bay", "Thunder Bay", "ON", ["P7B", "P7A"], ["807"]),
    ("Kingston", "Kingston", "ON", ["K7L", "K7M"], ["613", "343"]),
    ("Vancouver", "Vancouver", "BC", ["V5N", "V6Z", "V5K", "V6B", "V5T"], ["604", "778", "236", "672"]),
    ("Surrey", "Surrey", "BC", ["V3T", "V3S", "V4N"], ["604", "778", "236"]),
    ("Burnaby", "Burnaby", "BC", ["V5H", "V5G"], ["604", "778"]),
    ("Kelowna", "Kelowna", "BC", ["V1Y", "V1W"], ["250", "778", "236"]),
    ("Victoria", "Victoria", "BC", ["V8W", "V8V"], ["250", "778"]),
    ("Calgary", "Calgary", "AB", ["T2P", "T3H", "T2E", "T3A"], ["403", "587", "825", "368"]),
    ("Edmonton", "Edmonton", "AB", ["T5J", "T6E", "T5K"], ["780", "587", "825"]),
    ("Red Deer", "Red Deer", "AB", ["T4N", "T4P"], ["403", "587"]),
    ("Winnipeg", "Winnipeg", "MB", ["R3C", "R2M", "R3T"], ["204", "431"]),
    ("Regina", "Regina", "SK", ["S4P", "S4S"], ["306", "639"]),
    ("Saskatoon", "Saskatoon", "SK", ["S7K", "S7N"], ["306", "639"]),
    ("Halifax", "Halifax", "NS", ["B3H", "B3J", "B3L"], ["902", "782"]),
    ("Dartmouth", "Dartmouth", "NS", ["B2Y", "B2W"], ["902", "782"]),
    ("Moncton", "Moncton", "NB", ["E1C", "E1A"], ["506"]),
    ("Fredericton", "Fredericton", "NB", ["E3B", "E3A"], ["506"]),
    ("St. John's", "St. John's", "NL", ["A1C", "A1B"], ["709"]),
    ("Charlottetown", "Charlottetown", "PE", ["C1A"], ["902", "782"]),
    ("Whitehorse", "Whitehorse", "YT", ["Y1A"], ["867"]),
]
QC_CITIES = [c for c in CITIES if c[2] == "QC"]
OTHER_CITIES = [c for c in CITIES if c[2] != "QC"]

# Area codes in service in the US (cross-border customers, snowbirds, US employers).
US_AREA = ["212", "305", "407", "561", "602", "617", "702", "716", "802", "207", "518", "313", "248", "206", "360",
           "503", "214", "239", "727", "941", "954", "315", "585", "603"]

PROV_FORMS = {
    "QC": ["QC", "Qc", "Québec", "QC", "Quebec"],
    "ON": ["ON", "Ont.", "Ontario", "ON", "ONT"],
    "BC": ["BC", "B.C.", "British Columbia", "BC"],
    "AB": ["AB", "Alta.", "Alberta", "AB"],
    "MB": ["MB", "Man.", "Manitoba"],
    "SK": ["SK", "Sask.", "Saskatchewan"],
    "NS": ["NS", "N.S.", "Nova Scotia"],
    "NB": ["NB", "N.B.", "New Brunswick", "N.-B."],
    "NL": ["NL", "Nfld.", "NL"],
    "PE": ["PE", "PEI", "P.E.I."],
    "YT": ["YT", "Yukon"],
}

STREETS_QC = [
    "rue Sherbrooke Est", "boul. René-Lévesque Ouest", "rue Saint-Denis", "av. du Mont-Royal Est", "rue Jean-Talon Est",
    "boul. Saint-Laurent", "chemin de la Côte-des-Neiges", "boul. Henri-Bourassa Est", "rue Principale",
    "rue des Érables", "rue de l'Église", "chemin du Lac", "montée Masson", "boul. des Laurentides",
    "rue King Ouest", "boul. de la Concorde Ouest", "rue Notre-Dame Ouest", "av. Cartier", "Grande Allée Est",
    "boul. Charest Ouest", "rue Racine", "rue des Pins", "rue du Couvent", "boul. Taschereau", "chemin de Chambly",
    "rue Wellington Sud", "boul. Maloney Ouest", "rue Belvédère Nord", "boul. des Forges", "av. Papineau",
    "rue Fleury Est", "boul. Lévesque Est", "rue Sainte-Catherine Est", "boul. Saint-Joseph", "rue de la Montagne",
    "av. Laurier Ouest", "rue Bélanger", "boul. Gouin Ouest", "chemin Sainte-Foy", "rue Saint-Jean", "boul. Sainte-Rose",
    "rue des Bouleaux", "rue du Ruisseau", "av. des Pionniers", "boul. Curé-Labelle", "rue Dollard",
]
STREETS_BY_PROV = {
    "ON": ["King St W", "Yonge St", "Bloor St E", "Dundas St W", "Queen St E", "Lakeshore Blvd W", "Rebecca Street", "Dixie Rd",
           "Hurontario St", "Woodbine Ave", "McCowan Rd", "Sheppard Ave E", "Eglinton Ave W", "Bank St", "Carling Ave",
           "Richmond Rd", "Wonderland Rd S", "Princess St", "Mapleview Dr E", "Ouellette Ave", "Weber St N", "Main St E",
           "Upper James St", "Highway 7", "Steeles Ave W", "Kennedy Rd", "Lasalle Blvd", "Red River Rd"],
    "BC": ["Kingsway", "Granville St", "Burrard St", "Hastings St E", "Fraser Hwy", "King George Blvd", "Commercial Dr",
           "Harvey Ave", "Douglas St", "No. 3 Rd", "152 St", "Lougheed Hwy"],
    "AB": ["Jasper Ave NW", "Macleod Trail SE", "17 Ave SW", "Whyte Ave", "Gateway Blvd NW", "Crowchild Trail NW",
           "Gaetz Ave", "Centre St N", "Stony Plain Rd NW", "52 St SE"],
    "MB": ["Portage Ave", "Kenaston Blvd", "Pembina Hwy", "Main St", "Henderson Hwy", "St Mary's Rd"],
    "SK": ["Albert St", "Victoria Ave", "8th Street E", "Idylwyld Dr N", "Broad St", "Circle Dr E"],
    "NS": ["Barrington St", "Spring Garden Rd", "Quinpool Rd", "Portland St", "Bedford Hwy", "Main St"],
    "NB": ["Main St", "Mountain Rd", "Elmwood Dr", "Regent St", "Prospect St", "Brunswick St"],
    "NL": ["Water St", "Topsail Rd", "Kenmount Rd", "Elizabeth Ave", "Torbay Rd"],
    "PE": ["University Ave", "Grafton St", "North River Rd"],
    "YT": ["Main St", "4th Ave", "Range Rd"],
}
RESIDENTIAL_EN = ["Oak Crescent", "Maple Dr", "Birch Lane", "Elm Court", "Pine Ridge Rd", "Cedar Lane", "Willow Way", "Riverside Dr",
                  "Aspen Grove", "Lakeview Ave", "Sunset Blvd", "Church St", "Orchard Rd", "Meadowbrook Lane"]
RURAL_EN = ["Concession Rd 4", "Sideroad 15", "Highway 7", "Range Road 225", "Township Rd 322", "County Rd 9", "Old River Rd"]
RURAL_QC = ["3e Rang", "rang Saint-Joseph", "route 132", "chemin du Rang-Double", "rang de la Rivière Nord", "route 117"]

# Vehicles (model names double as traps: Santa Fe, Sierra, Escape, Frontier, Colorado ...).
VEHICLES = [
    "Honda CR-V EX", "Toyota RAV4 LE AWD", "Ford F-150 XLT SuperCrew", "Hyundai Tucson Preferred", "Kia Sorento LX",
    "Mazda CX-5 GS", "Chevrolet Silverado 1500 LT", "Nissan Rogue SV", "Subaru Crosstrek Touring",
    "Jeep Grand Cherokee Limited", "Ram 1500 Big Horn", "Volkswagen Jetta Comfortline", "GMC Sierra Denali",
    "Toyota Corolla Cross", "Dodge Grand Caravan SXT", "Honda Civic Sport", "Hyundai Santa Fe Sport",
    "Ford Escape Titanium", "Jeep Cherokee Trailhawk", "Toyota Tacoma TRD", "Chevrolet Equinox LS",
    "Nissan Frontier PRO-4X", "Chevrolet Colorado Z71", "Kia Soul EX", "Mitsubishi RVR SE", "Hyundai Elantra N Line",
    "Toyota Highlander XLE", "Honda Odyssey EX-L", "Ford Bronco Sport", "Subaru Outback Limited", "Mazda3 Sport GT",
    "Chrysler Pacifica Hybrid", "Toyota Sienna XSE", "Volkswagen Tiguan Highline", "Ford Mustang Mach-E",
    "Hyundai Ioniq 5", "Kia Telluride SX", "Chevrolet Bolt EUV", "Acura RDX A-Spec", "Lexus RX 350",
]
MODELS = ["CR-V", "RAV4", "F-150", "Tucson", "Sorento", "CX-5", "Silverado", "Rogue", "Crosstrek", "Grand Cherokee", "Civic",
          "Santa Fe", "Escape", "Tacoma", "Equinox", "Corolla", "Outback", "Sienna", "Odyssey", "Elantra", "Sierra"]
COLORS_EN = ["grey", "black", "white", "silver", "dark blue", "red", "charcoal", "pearl white", "green"]
COLORS_FR = ["gris", "noir", "blanc", "argent", "bleu foncé", "rouge", "gris anthracite", "blanc nacré", "vert"]
LENDERS = [
    "TD Auto Finance", "RBC", "Scotiabank", "BMO", "CIBC", "Desjardins", "Banque Nationale", "Honda Financial Services",
    "Toyota Crédit Canada", "Ford Credit Canada", "GM Financial", "Hyundai Capital", "Kia Finance", "iA Auto Finance",
    "Rifco", "Eden Park", "Santander Consumer", "Servus Credit Union", "Meridian",
]
WMIS = ["2T1", "2T3", "JTD", "4T1", "2HG", "2HK", "5J6", "1HG", "19X", "1FT", "1FM", "2FM", "3FA", "1GC", "2GN", "3GN",
        "1GT", "KM8", "5NM", "KMH", "KNA", "5XY", "JM3", "3MZ", "1C6", "1C4", "2C4", "3VW", "WVW", "WBA", "WDD", "JF2",
        "4S4", "JN8", "5N1", "1N4", "3N1", "YV4", "SAL", "5YJ"]
VIN_YEAR = "CDEFGHJKLMNPRS"  # 2012 .. 2025

# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------


def strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(prefix: str) -> str:
    for c in "0123456789":
        if luhn_ok(prefix + c):
            return prefix + c
    raise AssertionError("unreachable")


VIN_VAL = {**{str(d): d for d in range(10)}, "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8, "J": 1,
           "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9, "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9}
VIN_W = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def vin_check(v: str) -> str:
    s = sum(VIN_VAL[c] * w for c, w in zip(v, VIN_W)) % 11
    return "X" if s == 10 else str(s)


def valid_nanp(digits: str) -> bool:
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"


def only_digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


PC_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"

# ----------------------------------------------------------------------------------------------
# Form cyclers: every surface form of a type comes round in turn (shuffled), so each form is
# represented several times instead of at the mercy of the dice.
# ----------------------------------------------------------------------------------------------


class Cycler:
    def __init__(self, rng: random.Random, forms: list[str]):
        self.rng = rng
        self.forms = list(forms)
        self.queue: list[str] = []

    def next(self) -> str:
        if not self.queue:
            self.queue = list(self.forms)
            self.rng.shuffle(self.queue)
        return self.queue.pop()


FORM_STATS: dict[str, Counter] = defaultdict(Counter)

PHONE_FORMS = [
    "paren", "paren", "hyphen", "hyphen", "hyphen", "space", "space", "dot", "dot", "spaced_hyphen", "spaced_hyphen",
    "slash", "bare", "paren_nospace", "plus1_space", "plus1_hyphen", "plus1_paren", "one_hyphen", "one_space",
    "one_paren", "space_hyphen", "lb_hyphen", "lb_space", "lb_paren", "lb_dot", "lb_spaced_hyphen",
]
PHONE_LB_FORMS = ["lb_hyphen", "lb_space", "lb_paren", "lb_dot", "lb_spaced_hyphen", "lb_bare"]
EXT_FORMS_EN = [" ext. {n}", " ext {n}", " x{n}", " x {n}", " Ext. {n}", ", ext {n}"]
EXT_FORMS_FR = [" poste {n}", " poste {n}", " p. {n}", " #{n}", " ext. {n}"]
SIN_FORMS = ["space", "space", "hyphen", "hyphen", "spaced_hyphen", "spaced_hyphen", "spaced_hyphen", "dot", "dot", "dot",
             "slash", "slash", "bare", "bare", "lb_space", "lb_space", "lb_hyphen", "lb_hyphen", "double_space"]
EMAIL_FORMS = ["plain"] * 9 + ["upper", "capital", "spaced_at"]
NAME_PROSE_FORMS = ["full"] * 6 + ["initial", "middle", "caps", "lower", "lower"]
NAME_DMS_FORMS = ["caps_nospace", "caps_nospace", "caps_nospace", "caps_comma", "surname_comma", "surname_comma",
                  "surname_given", "caps", "caps_nospace_noacc", "caps_nospace_mid"]
ADDR_EN_FORMS = ["full", "full", "full_nocomma", "apt_first", "unit_civic", "unit_civic", "hash_unit", "hash_unit", "suite_after", "unit_after",
                 "rr", "pobox", "street", "street", "street_city", "street_city", "ml", "ml_unit", "full_provname",
                 "rural", "caps_full"]
ADDR_FR_FORMS = ["fr_full", "fr_full", "fr_comma_civic", "fr_app", "fr_app", "fr_unit_civic", "fr_unit_civic", "fr_bureau", "fr_cp", "fr_rang",
                 "fr_street", "fr_street", "fr_street_city", "fr_street_city", "fr_ml", "fr_app_first", "fr_lower",
                 "fr_qc_noparen"]
PLATE_FORMS = ["std", "std", "std", "nospace", "hyphen", "lower", "vanity"]
DL_FORMS = ["on_hyphen", "on_hyphen", "on_space", "on_bare", "qc_hyphen", "qc_hyphen", "qc_space", "qc_bare", "bc",
            "ab_hyphen", "ab_bare", "sk", "nl", "ns", "mb", "on_lb"]
DL_BARE_FORMS = ["on_hyphen", "on_space", "qc_hyphen", "qc_space", "on_hyphen", "qc_hyphen"]
DOB_FORMS_EN = ["iso", "iso", "slash_dmy", "slash_mdy", "month_d_y", "d_mon_y", "dot_ymd", "short_slash", "mon_d_y_nocomma"]
DOB_FORMS_FR = ["iso", "iso", "slash_dmy", "fr_long", "fr_long", "dash_dmy", "short_slash", "dot_ymd"]
PC_FORMS = ["space", "space", "space", "nospace", "nospace", "lower", "hyphen"]

MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]
MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre"]
DAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
DAYS_FR = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]

# ----------------------------------------------------------------------------------------------
# Document builder: appends segments and records spans in UTF-8 bytes.
# ----------------------------------------------------------------------------------------------

PROTECTED = {
    "plate", "plates", "plaque", "plaques", "licence", "license", "trade", "auto", "vehicle", "véhicule", "birth",
    "naissance", "phone", "email", "courriel", "buyer", "acheteur", "client", "cliente", "customer", "contact",
    "spouse", "address", "adresse", "postal", "permis", "immatriculation", "social", "insurance", "assurance",
    "driver's", "conduire", "cellulaire", "téléphone", "numéro", "sociale", "lic",
    "co-buyer", "co-acheteur", "conjoint", "conjointe", "name", "born", "birthday", "naissance", "échange", "propriétaire",
    "owner", "registration", "immat", "trade-in", "appelé", "rappeler", "texto", "call", "calls", "called", "number",
}


class Doc:
    def __init__(self, rng: random.Random, caps: bool = False, typos: float = 0.0, crlf: bool = False):
        self.rng = rng
        self.caps = caps
        self.crlf = crlf
        self.typos = typos
        self.buf: list[str] = []
        self.n = 0
        self.pii: list[tuple[int, int, str, str]] = []
        self.keep: list[tuple[int, int, str, str]] = []

    def _add(self, s: str) -> tuple[int, int, str]:
        if self.caps:
            s = s.upper()
        if self.crlf:
            s = s.replace("\r\n", "\n").replace("\n", "\r\n")
        start = self.n
        self.buf.append(s)
        self.n += len(s.encode("utf-8"))
        return start, self.n, s

    def lit(self, s: str, typo_ok: bool = True) -> None:
        if typo_ok and self.typos > 0:
            s = self._typo(s)
        self._add(s)

    def pii_span(self, typ: str, s: str) -> None:
        a, b, v = self._add(s)
        self.pii.append((a, b, typ, v))

    def keep_span(self, typ: str, s: str) -> None:
        a, b, v = self._add(s)
        self.keep.append((a, b, typ, v))

    def _typo(self, s: str) -> str:
        def fix(m: re.Match) -> str:
            w = m.group(0)
            if len(w) < 5 or w.lower() in PROTECTED or self.rng.random() >= self.typos:
                return w
            i = self.rng.randrange(1, len(w) - 2)
            op = self.rng.randrange(3)
            if op == 0:
                return w[:i] + w[i + 1] + w[i] + w[i + 2:]
            if op == 1:
                return w[:i] + w[i + 1:]
            return w[:i] + w[i] + w[i:]

        return re.sub(r"[A-Za-zÀ-ÿ]+", fix, s)

    def text(self) -> str:
        return "".join(self.buf)


# ----------------------------------------------------------------------------------------------
# Personas: one customer (and possibly a co-buyer / spouse) per text, with consistent details.
# ----------------------------------------------------------------------------------------------


class Persona:
    def __init__(self, g: "Gen", lang: str):
        rng = g.rng
        r = rng.random()
        if lang == "fr":
            origin = "fr" if r < 0.65 else ("other" if r < 0.9 else "en")
        elif lang == "en":
            origin = "en" if r < 0.55 else ("other" if r < 0.9 else "fr")
        else:
            origin = "fr" if r < 0.5 else ("en" if r < 0.75 else "other")
        self.origin = origin
        self.gender = rng.choice("mf")
        r = rng.random()
        if origin == "other":
            m, f, sur = OTHER_GROUPS[rng.choice(sorted(OTHER_GROUPS))]
            self.given = rng.choice(m if self.gender == "m" else f)
            self.surname = rng.choice(sur)
            if r < 0.05:
                self.surname = rng.choice(SURNAMES["fr"] + SURNAMES["en"])  # married or adopted names
        else:
            self.given = rng.choice(GIVEN[(origin, self.gender)])
            if r < 0.16:
                self.surname = rng.choice(SURNAMES["particle"])
            elif r < 0.24:
                a, b = rng.sample(SURNAMES[origin], 2)
                self.surname = f"{a}-{b}"
            else:
                self.surname = rng.choice(SURNAMES[origin])
        self.middle = rng.choice("ABCDEFGHJKLMNPRST")
        # Home: QC for most French-speaking customers.
        if lang == "fr":
            self.city = rng.choice(QC_CITIES) if rng.random() < 0.85 else rng.choice(
                [c for c in CITIES if c[0] in ("Ottawa", "Moncton", "Sudbury", "Fredericton")])
        elif lang == "en":
            self.city = rng.choice(OTHER_CITIES) if rng.random() < 0.88 else rng.choice(QC_CITIES[:5])
        else:
            self.city = rng.choice(QC_CITIES + [c for c in CITIES if c[0] in ("Ottawa", "Moncton", "Toronto")])
        self.prov = self.city[2]
        self.phone = g.phone_digits(self)
        self.phone2 = g.phone_digits(self)
        self.sin = g.sin_digits()
        self.dob = (rng.randrange(1946, 2006), rng.randrange(1, 13), rng.randrange(1, 29))
        self.email = g.email_for(self)
        self.plate = None
        self.plate2 = None
        self.dl = None


# ----------------------------------------------------------------------------------------------
# The generator: entity surface forms and template rendering.
# ----------------------------------------------------------------------------------------------

PH = re.compile(r"\{([A-Z][A-Z0-9_]*)(?::([^{}]*))?\}")


class Gen:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        rng = self.rng
        self.cyc = {
            "phone": Cycler(rng, PHONE_FORMS),
            "phone_lb": Cycler(rng, PHONE_LB_FORMS),
            "ext_en": Cycler(rng, EXT_FORMS_EN),
            "ext_fr": Cycler(rng, EXT_FORMS_FR),
            "sin": Cycler(rng, SIN_FORMS),
            "email": Cycler(rng, EMAIL_FORMS),
            "name_prose": Cycler(rng, NAME_PROSE_FORMS),
            "name_dms": Cycler(rng, NAME_DMS_FORMS),
            "addr_en": Cycler(rng, ADDR_EN_FORMS),
            "addr_fr": Cycler(rng, ADDR_FR_FORMS),
            "plate": Cycler(rng, PLATE_FORMS),
            "plate_prov": Cycler(rng, ["ON", "ON", "QC", "QC", "BC", "AB", "MB", "SK", "NS", "NB", "NL", "QC", "ON"]),
            "dl": Cycler(rng, DL_FORMS),
            "dl_bare": Cycler(rng, DL_BARE_FORMS),
            "dob_en": Cycler(rng, DOB_FORMS_EN),
            "dob_fr": Cycler(rng, DOB_FORMS_FR),
            "pc": Cycler(rng, PC_FORMS),
            "lb": Cycler(rng, ["\n"]),
        }
        self.ctx_lang = "en"
        self.informal = False
        self.p: Persona | None = None
        self.co: Persona | None = None

    # -- numbers -------------------------------------------------------------------------------

    def phone_digits(self, p: Persona | None = None) -> str:
        rng = self.rng
        if p is not None and rng.random() < 0.82:
            area = rng.choice(p.city[4])
        elif rng.random() < 0.75:
            area = rng.choice(rng.choice(CITIES)[4])
        else:
            area = rng.choice(US_AREA)
        while True:
            ex = str(rng.randrange(200, 1000))
            if ex[1:] != "11" and ex not in ("555", "958", "959", "976"):
                break
        line = f"{rng.randrange(0, 10000):04d}"
        return area + ex + line

    def sin_digits(self) -> str:
        rng = self.rng
        first = rng.choice("1234567" * 3 + "9")
        return luhn_complete(first + "".join(rng.choice("0123456789") for _ in range(7)))

    def num9(self) -> str:
        rng = self.rng
        while True:
            d = rng.choice("123456789") + "".join(rng.choice("0123456789") for _ in range(8))
            if not luhn_ok(d):
                return d

    def lb(self) -> str:
        return self.cyc["lb"].next()

    def fmt_phone(self, digits: str, form: str) -> str:
        a, e, l = digits[:3], digits[3:6], digits[6:]
        lb = self.lb() if form.startswith("lb_") else "\n"
        table = {
            "paren": f"({a}) {e}-{l}",
            "paren_nospace": f"({a}){e}-{l}",
            "hyphen": f"{a}-{e}-{l}",
            "space": f"{a} {e} {l}",
            "dot": f"{a}.{e}.{l}",
            "spaced_hyphen": f"{a} - {e} - {l}",
            "slash": f"{a}/{e}-{l}",
            "bare": f"{a}{e}{l}",
            "plus1_space": f"+1 {a} {e} {l}",
            "plus1_hyphen": f"+1-{a}-{e}-{l}",
            "plus1_paren": f"+1 ({a}) {e}-{l}",
            "one_hyphen": f"1-{a}-{e}-{l}",
            "one_space": f"1 {a} {e} {l}",
            "one_paren": f"1 ({a}) {e}-{l}",
            "space_hyphen": f"{a} {e}-{l}",
            "lb_hyphen": f"{a}-{e}-{lb}{l}",
            "lb_space": f"{a} {e}{lb}{l}",
            "lb_paren": f"({a}) {e}-{lb}{l}",
            "lb_dot": f"{a}.{e}.{lb}{l}",
            "lb_spaced_hyphen": f"{a} - {e} -{lb}{l}",
            "lb_bare": f"{a}{e}{lb}{l}",
        }
        return table[form]

    def phone(self, doc: Doc, digits: str, mode: str | None) -> None:
        if mode == "bare":
            form = "bare"
        elif mode == "lb":
            form = self.cyc["phone_lb"].next()
        else:
            form = self.cyc["phone"].next()
        s = self.fmt_phone(digits, form)
        ext = ""
        if mode == "ext" or (mode is None and not form.startswith("lb_") and form != "bare" and self.rng.random() < 0.07):
            french = self.lang_now() == "fr"
            ext = (self.cyc["ext_fr"] if french else self.cyc["ext_en"]).next().format(n=self.rng.randrange(100, 9999))
            FORM_STATS["PHONE"]["with_extension"] += 1
        FORM_STATS["PHONE"][form] += 1
        doc.pii_span("PHONE", s + ext)

    def sin(self, doc: Doc, digits: str, mode: str | None) -> None:
        if mode == "lb":
            form = self.rng.choice(["lb_space", "lb_hyphen"])
        else:
            form = self.cyc["sin"].next()
        a, b, c = digits[:3], digits[3:6], digits[6:]
        lb = self.lb() if form.startswith("lb_") else ""
        s = {
            "space": f"{a} {b} {c}", "hyphen": f"{a}-{b}-{c}", "spaced_hyphen": f"{a} - {b} - {c}",
            "dot": f"{a}.{b}.{c}", "slash": f"{a}/{b}/{c}", "bare": f"{a}{b}{c}", "lb_space": f"{a} {b}{lb}{c}",
            "lb_hyphen": f"{a}-{b}-{lb}{c}", "double_space": f"{a}  {b}  {c}",
        }[form]
        FORM_STATS["SIN"][form] += 1
        doc.pii_span("SIN", s)

    # -- names ---------------------------------------------------------------------------------

    def name_str(self, p: Persona, form: str) -> str:
        g, s = p.given, p.surname
        if form == "full":
            return f"{g} {s}"
        if form == "initial":
            if g[0] == "M":  # "M. Surname" would read as the French title: write the given name out
                return f"{g} {s}"
            if "-" in g:  # Quebec habit: Jean-François -> J.-F.
                return "-".join(x[0] + "." for x in g.split("-")) + " " + s
            return f"{g[0]}. {s}"
        if form == "middle":
            return f"{g} {p.middle}. {s}"
        if form == "caps":
            return f"{g} {s}".upper()
        if form == "lower":
            return f"{g} {s}".lower()
        if form == "caps_nospace":
            return f"{s},{g}".upper()
        if form == "caps_nospace_noacc":
            return strip_accents(f"{s},{g}").upper()
        if form == "caps_nospace_mid":
            return f"{s},{g} {p.middle}".upper()
        if form == "caps_comma":
            return f"{s}, {g}".upper()
        if form == "surname_comma":
            return f"{s}, {g}"
        if form == "surname_given":
            return f"{s} {g}"
        raise KeyError(form)

    def name(self, doc: Doc, p: Persona, arg: str | None) -> None:
        if arg == "dms":
            form = self.cyc["name_dms"].next()
        elif arg in (None, "prose"):
            form = self.cyc["name_prose"].next()
            if form == "lower" and not self.informal:
                form = "full"
        else:
            form = arg
        FORM_STATS["NAME"][form] += 1
        doc.pii_span("NAME", self.name_str(p, form))

    def title(self, p: Persona) -> str:
        fr = self.lang_now() == "fr"
        rng = self.rng
        if rng.random() < 0.1:
            return rng.choice(["Dr", "Dr."]) if not fr or p.gender == "m" else rng.choice(["Dr", "Dre"])
        if fr:
            return rng.choice(["M.", "M.", "Monsieur"]) if p.gender == "m" else rng.choice(["Mme", "Mme", "Madame", "Mlle", "Mme."])
        return rng.choice(["Mr.", "Mr", "Mr."]) if p.gender == "m" else rng.choice(["Mrs.", "Ms", "Ms.", "Mrs", "Miss"])

    def tname(self, doc: Doc, p: Persona) -> None:
        t = self.title(p)
        doc.lit(t + " ", typo_ok=False)
        FORM_STATS["NAME"]["after_title"] += 1
        if self.rng.random() < 0.55:
            doc.pii_span("NAME", p.surname)
        else:
            doc.pii_span("NAME", f"{p.given} {p.surname}")

    # -- e-mail --------------------------------------------------------------------------------

    def email_for(self, p: Persona) -> str:
        rng = self.rng
        g = re.sub(r"[^a-z\-]", "", strip_accents(p.given).lower().replace(" ", ""))
        s = re.sub(r"[^a-z\-]", "", strip_accents(p.surname).lower().replace(" ", ""))
        if rng.random() < 0.6:
            g, s = g.replace("-", ""), s.replace("-", "")
        yy = f"{p.dob[0] % 100:02d}" if hasattr(p, "dob") else str(rng.randrange(70, 99))
        n = str(rng.randrange(1, 99))
        local = rng.choice([
            f"{g}.{s}", f"{g}.{s}", f"{g[0]}{s}", f"{s}.{g}", f"{g}{s}{yy}", f"{g}_{s}", f"{g[0]}.{s}{n}",
            f"{g}.{s}{n}", f"{s}{g[0]}{n}", f"lafamille{s}", f"{g}{n}", f"{g}.{s}+auto",
        ])
        prov = p.prov
        doms = {
            "QC": ["videotron.ca", "hotmail.com", "gmail.com", "outlook.com", "live.ca", "sympatico.ca", "globetrotter.net",
                   "cgocable.ca", "yahoo.ca", "icloud.com", "hotmail.ca"],
            "ON": ["rogers.com", "bell.net", "sympatico.ca", "gmail.com", "hotmail.com", "outlook.com", "yahoo.ca",
                   "cogeco.ca", "icloud.com"],
            "BC": ["shaw.ca", "telus.net", "gmail.com", "hotmail.com", "outlook.com"],
            "AB": ["shaw.ca", "telus.net", "gmail.com", "hotmail.com", "live.ca"],
            "MB": ["mymts.net", "shaw.ca", "gmail.com"],
            "SK": ["sasktel.net", "gmail.com", "hotmail.com"],
        }.get(prov, ["eastlink.ca", "bellaliant.net", "gmail.com", "nl.rogers.com", "hotmail.com"])
        return f"{local}@{rng.choice(doms)}"

    def email(self, doc: Doc, addr: str, arg: str | None) -> None:
        form = arg or self.cyc["email"].next()
        if form == "upper":
            s = addr.upper()
        elif form == "capital":
            local, dom = addr.split("@")
            s = ".".join(x[:1].upper() + x[1:] for x in local.split(".")) + "@" + dom[:1].upper() + dom[1:]
        elif form == "spaced_at":
            s = addr.replace("@", " @ ")
        else:
            s = addr
        FORM_STATS["EMAIL"][form] += 1
        doc.pii_span("EMAIL", s)

    # -- addresses -----------------------------------------------------------------------------

    def postal(self, p: Persona, form: str | None = None) -> str:
        rng = self.rng
        fsa = rng.choice(p.city[3])
        ldu = f"{rng.randrange(10)}{rng.choice(PC_LETTERS)}{rng.randrange(10)}"
        form = form or "space"
        if form == "nospace":
            return fsa + ldu
        if form == "lower":
            return (fsa + " " + ldu).lower()
        if form == "hyphen":
            return fsa + "-" + ldu
        return fsa + " " + ldu

    def address_str(self, p: Persona, form: str) -> str:
        rng = self.rng
        city_fr, city_en, prov = p.city[0], p.city[1], p.city[2]
        french = form.startswith("fr_")
        city = city_fr if (french or rng.random() < 0.5) else city_en
        provs = PROV_FORMS[prov]
        pv = rng.choice(provs)
        pc = self.postal(p, rng.choice(["space", "space", "space", "nospace"]))
        r = rng.random()
        civ = str(rng.randrange(1, 100) if r < 0.25 else rng.randrange(100, 1000) if r < 0.55 else
                  rng.randrange(1000, 10000) if r < 0.92 else rng.randrange(10000, 24000))
        if rng.random() < 0.05:
            civ += rng.choice(["A", "B", " ½"])
        unit = (str(rng.randrange(1, 20)) + rng.choice(["", "", "", "A", "B"])) if rng.random() < 0.5 else \
            f"{rng.randrange(1, 25)}{rng.randrange(1, 20):02d}"
        if prov == "QC":
            street = rng.choice(STREETS_QC)
        elif prov == "NB" and rng.random() < 0.4:
            street = rng.choice(["rue Main", "rue Archibald", "rue Church", "chemin Elmwood"])
        else:
            street = rng.choice(STREETS_BY_PROV.get(prov, ["Main St"]) + RESIDENTIAL_EN)
        if form == "full":
            return f"{civ} {street}, {city}, {pv} {pc}"
        if form == "caps_full":
            return f"{civ} {street}, {city}, {pv} {pc}".upper()
        if form == "full_nocomma":
            return f"{civ} {street} {city} {pv} {pc}"
        if form == "full_provname":
            return f"{civ} {street}, {city}, {provs[2] if len(provs) > 2 else provs[0]} {pc}"
        if form == "apt_first":
            return f"{rng.choice(['Apt', 'Apt.', 'Unit'])} {unit}, {civ} {street}, {city}, {pv} {pc}"
        if form == "unit_civic":
            return f"{unit}-{civ} {street}, {city} {pv} {pc}"
        if form == "hash_unit":
            return f"#{unit} - {civ} {street}, {city}, {pv} {pc}" if rng.random() < 0.5 else f"#{unit}-{civ} {street}, {city} {pv}"
        if form == "suite_after":
            return f"{civ} {street}, Suite {unit}, {city}, {pv} {pc}"
        if form == "unit_after":
            return f"{civ} {street} Unit {unit}, {city} {pv}"
        if form == "rr":
            rr = rng.randrange(1, 9)
            return rng.choice([f"RR {rr}, {city}, {pv} {pc}", f"RR#{rr} Site {rng.randrange(1, 30)} Comp {rng.randrange(1, 90)}, {city} {pv} {pc}",
                               f"R.R. {rr}, {civ} {rng.choice(RURAL_EN)}, {city} {pv} {pc}"])
        if form == "pobox":
            return rng.choice([f"PO Box {rng.randrange(1, 3000)}, {city}, {pv} {pc}",
                               f"P.O. Box {rng.randrange(1, 3000)}, Stn Main, {city} {pv} {pc}"])
        if form == "rural":
            return f"{rng.randrange(1000, 60000)} {rng.choice(RURAL_EN)}, {city}, {pv} {pc}"
        if form == "street":
            return f"{civ} {street}"
        if form == "street_city":
            return f"{civ} {street}, {city}"
        if form == "ml":
            return f"{civ} {street}\n{city}, {pv}  {pc}"
        if form == "ml_unit":
            return f"{unit}-{civ} {street}\n{city} {pv} {pc}"
        # French forms
        qc = rng.choice(["(QC)", "(Québec)", "(Qc)", "QC", "Québec"]) if prov == "QC" else pv
        if form == "fr_full":
            return f"{civ} {street}, {city} {qc} {pc}"
        if form == "fr_qc_noparen":
            return f"{civ}, {street}, {city}, {pv} {pc}"
        if form == "fr_comma_civic":
            return f"{civ}, {street}, {city} {qc}  {pc}"
        if form == "fr_app":
            return f"{civ} {street}, {rng.choice(['app.', 'app', 'appartement', 'log.'])} {unit}, {city} {qc} {pc}"
        if form == "fr_app_first":
            return f"app. {unit}, {civ} {street}, {city}"
        if form == "fr_unit_civic":
            return f"{unit}-{civ}, {street}, {city} {qc} {pc}"
        if form == "fr_bureau":
            return f"{civ} {street}, bureau {unit}, {city} {qc} {pc}"
        if form == "fr_cp":
            return rng.choice([f"C.P. {rng.randrange(1, 3000)}, {city} {qc} {pc}",
                               f"case postale {rng.randrange(1, 3000)}, succ. Centre-ville, {city} {qc} {pc}"])
        if form == "fr_rang":
            return f"{rng.randrange(100, 9999)}, {rng.choice(RURAL_QC)}, {city} {qc} {pc}"
        if form == "fr_street":
            return f"{civ} {street}" if rng.random() < 0.6 else f"{civ}, {street}"
        if form == "fr_street_city":
            return f"{civ} {street}, {city}"
        if form == "fr_ml":
            return f"{civ}, {street}\n{city} {qc}  {pc}"
        if form == "fr_lower":
            return f"{civ} {street} app {unit} {city} qc {pc}".lower()
        raise KeyError(form)

    def address(self, doc: Doc, p: Persona, arg: str | None) -> None:
        qcish = p.prov == "QC" or (p.prov == "NB" and self.lang_now() == "fr")
        if arg in ("street", "street_city", "ml"):
            form = ("fr_" + arg) if qcish else arg
        else:
            form = self.cyc["addr_fr" if qcish else "addr_en"].next()
        FORM_STATS["ADDRESS"][form] += 1
        doc.pii_span("ADDRESS", self.address_str(p, form))

    def street_only(self, doc: Doc, p: Persona) -> None:
        qcish = p.prov == "QC"
        form = "fr_street" if qcish else "street"
        FORM_STATS["ADDRESS"]["form_field_street"] += 1
        doc.pii_span("ADDRESS", self.address_str(p, form))

    def postal_alone(self, doc: Doc, p: Persona) -> None:
        form = self.cyc["pc"].next()
        FORM_STATS["POSTAL_CODE"][form] += 1
        doc.pii_span("POSTAL_CODE", self.postal(p, form))

    # -- plates, licences, birth dates ---------------------------------------------------------

    def plate_str(self, prov: str, form: str) -> str:
        rng = self.rng
        L = "ABCDEFGHJKLMNPRSTVWXYZ"
        def ls(n: int) -> str:
            return "".join(rng.choice(L) for _ in range(n))
        def ds(n: int) -> str:
            return "".join(rng.choice("0123456789") for _ in range(n))
        if form == "vanity":
            return rng.choice(["GOHABS", "MYTRUK", "NEIGE4", "BLUJAY5", "JMSOUVN", "TACO4ME", "LUVMYCRV", "HOCKEY7",
                               "SKIDOO1", "PAPAROCK", "MAMAVAN", "OILERS1", "CAPITAIN", "BELUGA"])
        if prov == "ON":
            a, b = (ls(4), ds(3)) if rng.random() < 0.8 else (ls(3), ds(3))
        elif prov == "QC":
            k = rng.randrange(3)
            a, b = [(rng.choice(L) + ds(2), ls(3)), (ds(3), ls(3)), (ls(3), ds(3))][k]
        elif prov == "BC":
            a, b = (ls(2) + ds(1), ds(2) + ls(1)) if rng.random() < 0.6 else (ds(3), ls(3))
        elif prov == "AB":
            a, b = ls(3), ds(4)
        elif prov == "SK":
            a, b = ds(3), ls(3)
        else:
            a, b = ls(3), ds(3)
        sep = " "
        if form == "nospace":
            sep = ""
        elif form == "hyphen" or prov == "AB":
            sep = "-" if form != "nospace" else ""
        s = a + sep + b
        if form == "lower":
            s = s.lower()
        return s

    def plate(self, doc: Doc) -> None:
        prov = self.cyc["plate_prov"].next()
        if self.lang_now() == "fr" and self.rng.random() < 0.6:
            prov = "QC"
        form = self.cyc["plate"].next()
        FORM_STATS["PLATE"][f"{prov}_{form}" if form != "vanity" else "vanity"] += 1
        doc.pii_span("PLATE", self.plate_str(prov, form))

    def dl_str(self, p: Persona, form: str) -> str:
        rng = self.rng
        init = strip_accents(p.surname.replace("'", "").replace(" ", ""))[0].upper()
        y, m, d = p.dob
        def ds(n: int) -> str:
            return "".join(rng.choice("0123456789") for _ in range(n))
        if form.startswith("on"):
            mm = m + (50 if p.gender == "f" else 0)
            g1, g2, g3 = ds(4), ds(4) + str(y % 100 // 10), f"{y % 10}{mm:02d}{d:02d}"
            if form == "on_hyphen":
                return f"{init}{g1}-{g2}-{g3}"
            if form == "on_space":
                return f"{init}{g1} {g2} {g3}"
            if form == "on_lb":
                return f"{init}{g1}-{g2}-{self.lb()}{g3}"
            return f"{init}{g1}{g2}{g3}"
        if form.startswith("qc"):
            mm = m + (50 if p.gender == "f" else 0)
            g1, g2, g3 = ds(4), f"{y % 100:02d}{mm:02d}{d:02d}", ds(2)
            if form == "qc_hyphen":
                return f"{init}{g1}-{g2}-{g3}"
            if form == "qc_space":
                return f"{init}{g1} {g2} {g3}"
            return f"{init}{g1}{g2}{g3}"
        if form == "bc":
            return ds(7)
        if form == "ab_hyphen":
            return f"{ds(6)}-{ds(3)}"
        if form == "ab_bare":
            return rng.choice("0123456789") + ds(8) if rng.random() < 0.5 else ds(7)
        if form == "sk":
            return ds(8)
        if form == "nl":
            return init + ds(9)
        if form == "ns":
            nm = strip_accents(re.sub(r"[^A-Za-z]", "", p.surname)).upper()[:5].ljust(5, "X")
            return f"{nm}{d:02d}{m:02d}{y % 100:02d}{ds(3)}"
        if form == "mb":
            nm = strip_accents(re.sub(r"[^A-Za-z]", "", p.surname + p.given)).upper()
            nm = (nm + "XXXXXXX")[:7]
            return f"{nm[:2]}-{nm[2:4]}-{nm[4:6]}-{nm[6]}{ds(3)}{rng.choice('ABCDEFGH')}{rng.choice('JKLMNPRS')}"
        raise KeyError(form)

    def dl(self, doc: Doc, p: Persona, arg: str | None) -> None:
        form = self.cyc["dl_bare" if arg == "bare" else "dl"].next()
        FORM_STATS["DRIVERS_LICENCE"][form + ("_no_context" if arg == "bare" else "")] += 1
        doc.pii_span("DRIVERS_LICENCE", self.dl_str(p, form))

    def dob(self, doc: Doc, p: Persona) -> None:
        y, m, d = p.dob
        fr = self.lang_now() == "fr"
        form = self.cyc["dob_fr" if fr else "dob_en"].next()
        s = {
            "iso": f"{y}-{m:02d}-{d:02d}",
            "slash_dmy": f"{d:02d}/{m:02d}/{y}",
            "slash_mdy": f"{m:02d}/{d:02d}/{y}",
            "month_d_y": f"{MONTHS_EN[m - 1]} {d}, {y}",
            "mon_d_y_nocomma": f"{MONTHS_EN[m - 1][:3]} {d} {y}",
            "d_mon_y": f"{d} {MONTHS_EN[m - 1][:3]} {y}",
            "dot_ymd": f"{y}.{m:02d}.{d:02d}",
            "short_slash": f"{d:02d}/{m:02d}/{y % 100:02d}",
            "fr_long": f"{'1er' if d == 1 else d} {MONTHS_FR[m - 1]} {y}",
            "dash_dmy": f"{d:02d}-{m:02d}-{y}",
        }[form]
        FORM_STATS["DOB"][form] += 1
        doc.pii_span("DOB", s)

    # -- keep identifiers ----------------------------------------------------------------------

    def vin(self) -> tuple[str, bool]:
        rng = self.rng
        while True:
            v = list(rng.choice(WMIS) + "".join(rng.choice(VIN_CHARS) for _ in range(5)) + "0" + rng.choice(VIN_YEAR)
                     + rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") + "".join(rng.choice("0123456789") for _ in range(6)))
            v[8] = vin_check("".join(v))
            good = rng.random() < 0.8
            if not good:
                v[8] = rng.choice([c for c in "0123456789X" if c != v[8]])
            s = "".join(v)
            if max((len(x) for x in re.findall(r"\d+", s)), default=0) < 8:
                return s, good

    def date_str(self) -> str:
        rng = self.rng
        y, m, d = rng.randrange(2023, 2026), rng.randrange(1, 13), rng.randrange(1, 29)
        wd = rng.randrange(7)
        if self.lang_now() == "fr":
            return rng.choice([f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{d} {MONTHS_FR[m - 1]} {y}",
                               f"{'1er' if d == 1 else d} {MONTHS_FR[m - 1]}", f"{DAYS_FR[wd]} {d} {MONTHS_FR[m - 1]} {y}",
                               f"{d:02d}-{m:02d}-{y}", f"{d}/{m}", f"{y}/{m:02d}/{d:02d}", f"{d:02d}.{m:02d}.{y}"])
        mon = MONTHS_EN[m - 1]
        return rng.choice([f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}", f"{d:02d}/{m:02d}/{y}", f"{mon[:3]} {d}, {y}",
                           f"{mon} {d}", f"{d:02d}-{mon[:3].upper()}-{y % 100:02d}", f"{mon[:3]} {d}/{y % 100:02d}",
                           f"{y}/{m:02d}/{d:02d}", f"{DAYS_EN[wd]}, {mon} {d}, {y}", f"{d} {mon[:3]} {y}", f"{m}/{d}",
                           f"{y}{m:02d}{d:02d}"])

    def time_str(self) -> str:
        rng = self.rng
        h, mi = rng.randrange(7, 20), rng.choice([0, 5, 10, 15, 20, 30, 40, 45, 50])
        if self.lang_now() == "fr":
            return rng.choice([f"{h}h{mi:02d}", f"{h} h {mi:02d}", f"{h}h", f"{h:02d}:{mi:02d}", f"{h}:{mi:02d}"])
        h12 = h - 12 if h > 12 else h
        ap = "PM" if h >= 12 else "AM"
        return rng.choice([f"{h12}:{mi:02d} {ap}", f"{h12}:{mi:02d} {ap.lower()}", f"{h:02d}:{mi:02d}", f"{h12}{ap.lower()}",
                           f"{h12}:{mi:02d}{ap}"])

    def amount_str(self, size: str | None = None) -> str:
        rng = self.rng
        size = size or rng.choice("smb")
        lo, hi = {"s": (5, 400), "m": (150, 4500), "b": (4500, 89999)}[size]
        v = rng.randrange(lo, hi)
        cents = rng.randrange(100)
        with_cents = rng.random() < 0.6
        if self.lang_now() == "fr":
            sep = rng.choice([" ", "\u00a0", "\u202f", " "])
            ip = f"{v:,}".replace(",", sep)
            s = ip + (f",{cents:02d}" if with_cents else "")
            return rng.choice([f"{s} $", f"{s}$", f"{s} $", f"{s}\u00a0$"])
        ip = f"{v:,}" if rng.random() < 0.8 else str(v)
        s = ip + (f".{cents:02d}" if with_cents else "")
        return rng.choice([f"${s}", f"${s}", f"$ {s}", f"{s}$", f"CAD ${s}", f"${s}"])

    def km_str(self) -> str:
        rng = self.rng
        v = rng.randrange(8, 320000)
        fr = self.lang_now() == "fr"
        forms = [f"{v:,}".replace(",", " ") + " km", f"{v:,} km", f"{v} km", f"{v}km", f"{v:,}".replace(",", " ") + " KM"]
        if fr:
            forms += [f"{v:,}".replace(",", " ") + " kilomètres", f"{v:,}".replace(",", "\u00a0") + " km"]
        else:
            forms += [f"{v:,} kms", f"{v // 1.6:,.0f} mi"]
        return rng.choice(forms)

    def keep_value(self, typ: str, arg: str | None = None) -> str:
        rng = self.rng
        def ds(n: int) -> str:
            return "".join(rng.choice("0123456789") for _ in range(n))
        fr = self.lang_now() == "fr"
        if typ == "STOCK":
            return rng.choice([f"U{ds(4)}", f"N{ds(5)}", f"P{ds(4)}A", ds(5), f"{ds(2)}-{ds(3)}", f"T{ds(4)}", f"{ds(2)}R{ds(3)}",
                               f"C{ds(4)}B", f"UA{ds(4)}", f"{ds(5)}A"])
        if typ == "DEAL":
            return rng.choice([f"D-{ds(5)}", ds(5), f"{rng.randrange(2023, 2026)}-{ds(4)}", f"DJ{ds(5)}", ds(6)])
        if typ == "RO":
            return rng.choice([ds(6), ds(5), ds(7), ds(6), f"W{ds(6)}", f"{ds(6)}-1"])
        if typ == "PO":
            return rng.choice([ds(7), ds(5), f"FLT-{ds(5)}", f"PO-{rng.randrange(2023, 2026)}-{ds(3)}", ds(6)])
        if typ == "CLAIM":
            return rng.choice([ds(7), f"W{ds(7)}", f"{ds(5)}-01", f"CLM-{rng.randrange(2023, 2026)}-{ds(5)}", f"C-{ds(6)}"])
        if typ == "INVOICE":
            return rng.choice([ds(6), f"INV-{ds(5)}", f"F-{ds(6)}", f"CS{ds(6)}", ds(5)])
        if typ == "OPCODE":
            return rng.choice(["01ZZ", "LOF", "0251", "OP-12A", "ROT4", "BRK02", "MPI", "Z7700", "22AAZ", "LOFS", "ALIGN4",
                               "D0300", "H2640", "12A", "TIRE-S", "BATT1"])
        if typ == "CAMPAIGN":
            return rng.choice([f"{rng.randrange(19, 25)}V-{ds(3)}", f"{rng.randrange(19, 25)}S{ds(2)}", f"{rng.randrange(19, 25)}TB{ds(2)}",
                               f"{rng.randrange(2019, 2026)}-{ds(3)}", f"{rng.randrange(19, 25)}C{ds(2)}", f"N{ds(6)}"])
        if typ == "TSB":
            return rng.choice([f"{rng.randrange(15, 25)}-NA-{ds(3)}", f"T-SB-{ds(4)}-{rng.randrange(18, 25)}", f"{rng.randrange(15, 25)}-{ds(3)}",
                               f"SB-{ds(5)}", f"{ds(2)}-{ds(3)}-{ds(2)}"])
        if typ == "DTC":
            return rng.choice(["P0420", "P0300", "P0171", "U0100", "C1201", "B1000", "P0455", "P2187", "P0128", "P0507",
                               "P0442", "P0301", "P0016", "U0073", "C0035", "P0A80"])
        if typ == "TAG":
            return rng.choice([str(rng.randrange(1, 400)), f"K-{rng.randrange(1, 400)}", f"{rng.randrange(1, 99)}B"])
        if typ == "PERSONNEL" and arg:
            role = rng.choice(arg.split("|"))
            return {
                "fi": rng.choice([f"FI-{rng.randrange(1, 20):02d}", f"FI{rng.randrange(1, 20):02d}", f"{'DC' if fr else 'FI'}-{rng.randrange(1, 12):02d}"]),
                "sa": rng.choice([f"SA-{rng.randrange(100, 200)}", f"{'CT' if fr else 'SA'}-{rng.randrange(1, 30):02d}", f"SA{rng.randrange(100, 200)}"]),
                "tech": rng.choice([f"T-{rng.randrange(10, 90)}", f"TECH-{rng.randrange(10, 60)}", f"T{rng.randrange(10, 90)}"]),
                "bdc": f"BDC-{rng.randrange(1, 15):02d}",
                "sls": rng.choice([f"SLS-{rng.randrange(10, 40)}", f"S-{rng.randrange(10, 40)}", f"{'VD' if fr else 'SLS'}-{rng.randrange(10, 40)}"]),
                "mgr": rng.choice([f"MGR-{rng.randrange(1, 10):02d}", f"SM-{rng.randrange(1, 6):02d}", f"GSM-{rng.randrange(1, 4):02d}"]),
                "parts": f"PD-{rng.randrange(1, 9):02d}",
            }[role]
        if typ == "PERSONNEL":
            return rng.choice([f"FI-{rng.randrange(1, 20):02d}", f"SA-{rng.randrange(100, 200)}", f"T-{rng.randrange(10, 90)}",
                               f"MGR-{rng.randrange(1, 10):02d}", f"BDC-{rng.randrange(1, 15):02d}", f"SLS-{rng.randrange(10, 40)}",
                               f"SM-{rng.randrange(1, 6):02d}", f"PD-{rng.randrange(1, 9):02d}", f"TECH-{rng.randrange(10, 60)}",
                               f"T{rng.randrange(10, 90)}", f"{'CT' if fr else 'SA'}-{rng.randrange(1, 30):02d}",
                               f"{'DC' if fr else 'FI'}-{rng.randrange(1, 12):02d}"])
        if typ == "BN":
            root = luhn_complete(rng.choice("1234567") + ds(7))
            return rng.choice([f"{root}RT0001", f"{root} RT 0001", f"{root}RT 0001", f"{root[:5]} {root[5:]} RT0001",
                               f"{root}RT0002", f"{root} RT0001"])
        if typ == "NEQ":
            return "11" + ds(8)
        if typ == "QST":
            return rng.choice([f"1{ds(9)}TQ0001", f"1{ds(9)} TQ 0001", f"1{ds(9)}TQ0002"])
        if typ == "NUM9":
            return self.num9()
        if typ == "PART":
            return rng.choice([
                ds(8), f"0{ds(4)}-{ds(5)}", f"{ds(5)}-T{rng.choice('ABGLR')}{rng.choice('ABCDE')}-A0{rng.randrange(1, 9)}",
                f"{ds(8)}AA", f"{rng.choice(['FL', 'BL3Z', 'HL3Z', 'ML3Z'])}-{ds(4)}-{rng.choice('ABCD')}",
                f"{ds(5)}-{rng.choice(['D3', 'S1', 'L0', 'G2'])}{rng.choice('ABC')}{ds(2)}", f"9091{ds(1)}-YZZD{rng.randrange(1, 4)}",
                f"K{ds(6)}AB", f"{ds(5)}-{ds(2)}{rng.choice('ABCLM')}{ds(2)}"])
        if typ == "LEAD":
            return rng.choice([f"L-{ds(5)}", f"LD-{rng.randrange(2023, 2026)}-{ds(5)}", f"WEB{ds(6)}"])
        if typ == "APPT":
            return rng.choice([f"A-{ds(5)}", f"RDV-{ds(5)}", f"AP{ds(6)}", f"#{ds(5)}"])
        raise KeyError(typ)

    def keep(self, doc: Doc, typ: str, arg: str | None = None) -> None:
        if typ == "VIN":
            v, good = self.vin()
            FORM_STATS["VIN"]["valid_check" if good else "invalid_check"] += 1
            doc.keep_span("VIN", v)
            return
        if typ == "DATE":
            v = self.date_str()
        elif typ == "TIME":
            v = self.time_str()
        elif typ == "AMOUNT":
            v = self.amount_str(arg)
        elif typ == "KM":
            v = self.km_str()
        else:
            v = self.keep_value(typ, arg)
        doc.keep_span(typ, v)

    # -- template rendering --------------------------------------------------------------------

    def lang_now(self) -> str:
        if self.ctx_lang == "mixed":
            return self.mixed_lang
        return self.ctx_lang

    def render(self, doc: Doc, tpl: str) -> None:
        pos = 0
        for m in PH.finditer(tpl):
            if m.start() > pos:
                doc.lit(tpl[pos:m.start()])
            self.fill(doc, m.group(1), m.group(2))
            pos = m.end()
        if pos < len(tpl):
            doc.lit(tpl[pos:])

    def co_p(self) -> Persona:
        if self.co is None:
            self.co = Persona(self, self.ctx_lang)
            if self.rng.random() < 0.6:
                self.co.surname = self.p.surname
                self.co.email = self.email_for(self.co)
        return self.co

    def fill(self, doc: Doc, key: str, arg: str | None) -> None:
        rng = self.rng
        p = self.p
        if key == "R":
            doc.lit(rng.choice(arg.split("|")))
            return
        if key in ("G", "CG"):
            who = p if key == "G" else self.co_p()
            m, f = arg.split("|")
            doc.lit(m if who.gender == "m" else f, typo_ok=False)
            return
        if key == "NAME":
            self.name(doc, p, arg)
        elif key == "CONAME":
            self.name(doc, self.co_p(), arg)
        elif key == "TNAME":
            self.tname(doc, p)
        elif key == "TCONAME":
            self.tname(doc, self.co_p())
        elif key == "GIVEN":
            FORM_STATS["NAME"]["given_only"] += 1
            doc.pii_span("NAME", p.given if arg != "lower" else p.given.lower())
        elif key == "SURNAME":
            FORM_STATS["NAME"]["surname_only"] += 1
            doc.pii_span("NAME", p.surname)
        elif key == "COGIVEN":
            FORM_STATS["NAME"]["given_only"] += 1
            doc.pii_span("NAME", self.co_p().given)
        elif key == "PHONE":
            self.phone(doc, p.phone, arg)
        elif key == "PHONE2":
            self.phone(doc, p.phone2, arg)
        elif key == "COPHONE":
            self.phone(doc, self.co_p().phone, arg)
        elif key == "SIN":
            self.sin(doc, p.sin, arg)
        elif key == "COSIN":
            self.sin(doc, self.co_p().sin, arg)
        elif key == "EMAIL":
            self.email(doc, p.email, arg)
        elif key == "COEMAIL":
            self.email(doc, self.co_p().email, arg)
        elif key == "ADDR":
            self.address(doc, p, arg)
        elif key == "COADDR":
            self.address(doc, self.co_p(), arg)
        elif key == "STREET":
            self.street_only(doc, p)
        elif key == "PC":
            self.postal_alone(doc, p)
        elif key in ("PLATE", "PLATE2"):
            self.plate(doc)
        elif key == "DOB":
            self.dob(doc, p)
        elif key == "CODOB":
            self.dob(doc, self.co_p())
        elif key == "DL":
            self.dl(doc, p, arg)
        elif key == "CODL":
            self.dl(doc, self.co_p(), arg)
        elif key in ("STOCK", "DEAL", "RO", "VIN", "AMT", "DATE", "TIME", "STAFF", "BN", "NUM9", "PO", "CLAIM", "KM",
                     "PART", "INV", "OP", "CAMP", "TSB", "DTC", "TAG", "NEQ", "QST", "LEAD", "APPT"):
            typ = {"AMT": "AMOUNT", "STAFF": "PERSONNEL", "INV": "INVOICE", "OP": "OPCODE", "CAMP": "CAMPAIGN"}.get(key, key)
            self.keep(doc, typ, arg)
        # unlabelled fillers
        elif key == "VEH":
            doc.lit(f"{rng.randrange(2012, 2026)} {rng.choice(VEHICLES)}", typo_ok=False)
        elif key == "MODEL":
            doc.lit(rng.choice(MODELS), typo_ok=False)
        elif key == "LENDER":
            doc.lit(rng.choice(LENDERS), typo_ok=False)
        elif key == "COLOR":
            doc.lit(rng.choice(COLORS_FR if self.lang_now() == "fr" else COLORS_EN), typo_ok=False)
        elif key == "CITY":
            doc.lit(p.city[0] if self.lang_now() == "fr" else p.city[1], typo_ok=False)
        elif key == "RATE":
            r = f"{rng.choice([0, 1.99, 3.49, 4.99, 5.99, 6.49, 6.99, 7.99, 8.99, 9.99, 11.99, 14.99, 19.99])}"
            doc.lit(r.replace(".", ",") if self.lang_now() == "fr" else r, typo_ok=False)
        elif key == "TERM":
            doc.lit(str(rng.choice([36, 48, 60, 72, 84, 96])), typo_ok=False)
        elif key == "N":
            doc.lit(str(rng.randrange(2, 45)), typo_ok=False)
        elif key == "HRS":
            h = f"{rng.randrange(1, 40) / 10:.1f}"
            doc.lit(h.replace(".", ",") if self.lang_now() == "fr" else h, typo_ok=False)
        elif key == "CONCERN":
            doc.lit(rng.choice(CONCERN_FR if self.lang_now() == "fr" else CONCERN_EN))
        elif key == "FINDING":
            self.render(doc, rng.choice(FINDING_FR if self.lang_now() == "fr" else FINDING_EN))
        elif key == "WORK":
            doc.lit(rng.choice(WORK_FR if self.lang_now() == "fr" else WORK_EN))
        else:
            raise KeyError(key)


# ----------------------------------------------------------------------------------------------
# Sentence pools
# ----------------------------------------------------------------------------------------------

CONCERN_EN = [
    "brakes grinding when stopping", "check engine light on", "noise from front end over bumps", "vibration at highway speed",
    "A/C blowing warm", "vehicle pulls to the right", "battery dead twice this week", "oil leak under engine",
    "TPMS light on", "rattle from dash on cold start", "heater not working", "clunk when shifting into reverse",
    "remote start inop", "squeal from rear when braking", "rock chip in windshield", "steering wheel off centre",
    "hesitation on acceleration", "wipers chattering", "power liftgate won't close", "burning smell after driving",
]
CONCERN_FR = [
    "bruit de frottement au freinage", "témoin moteur allumé", "cognement à l'avant sur les bosses", "vibration sur l'autoroute",
    "l'air climatisé souffle chaud", "le véhicule tire à droite", "batterie à plat deux fois cette semaine",
    "fuite d'huile sous le moteur", "témoin de pression des pneus allumé", "bruit de cliquetis au démarrage à froid",
    "le chauffage ne fonctionne pas", "démarreur à distance ne fonctionne pas", "grincement à l'arrière au freinage",
    "pare-brise fissuré", "volant décentré", "hésitation à l'accélération", "hayon électrique ne ferme plus",
    "odeur de brûlé après avoir roulé", "bruit de roulement à 80 km/h",
]
FINDING_EN = [
    "front pads at 2 mm, rotors scored", "rear sway bar links loose", "DTC {DTC} stored, catalyst below threshold",
    "battery tested bad, 210 CCA of 600", "serpentine belt cracked", "lower control arm bushings torn",
    "coolant seeping at water pump weep hole", "cabin filter plugged", "left front tire cupped",
    "valve cover gasket seeping", "codes {DTC} and {DTC} in history", "right rear wheel bearing noisy",
]
FINDING_FR = [
    "plaquettes avant à 2 mm, disques rayés", "biellettes de barre stabilisatrice arrière lâches", "code {DTC} en mémoire",
    "batterie testée défectueuse", "courroie d'accessoires craquée", "bagues de bras inférieur déchirées",
    "fuite de liquide de refroidissement à la pompe à eau", "filtre d'habitacle bouché", "pneu avant gauche usé en escalier",
    "joint de couvre-culasse qui suinte", "codes {DTC} et {DTC} en historique", "roulement arrière droit bruyant",
]
WORK_EN = [
    "front pads and rotors", "4-wheel alignment", "battery replacement", "serpentine belt", "rear brake service",
    "coolant flush", "cabin and engine air filters", "tire rotation and balance", "spark plugs", "transmission fluid service",
    "wiper blades", "front struts", "valve cover gasket",
]
WORK_FR = [
    "plaquettes et disques avant", "alignement 4 roues", "remplacement de batterie", "courroie d'accessoires",
    "entretien des freins arrière", "vidange du liquide de refroidissement", "filtres à air et d'habitacle",
    "permutation et balancement des pneus", "bougies", "vidange de transmission", "balais d'essuie-glace",
    "jambes de force avant", "joint de couvre-culasse",
]

# Service / RO technician notes --------------------------------------------------------------
SVC_OPS = {
    "en": [
        "C/S {CONCERN}.", "Cust states {CONCERN}, only when cold.", "Verified concern. Found {FINDING}.",
        "Recommend {WORK}, quoted {AMT:m} plus tax.", "Performed {OP} - {WORK}. Labour {HRS} hr.",
        "Part {PART} on order, ETA {DATE}.", "Odo in {KM}.", "Tech {STAFF:tech} ran MPI, all ok except {FINDING}.",
        "Ref TSB {TSB}, reflashed ECM per bulletin.", "Open recall {CAMP} completed, no charge.", "Tag {TAG}, parked row C.",
        "In at {TIME}, promised {TIME}.", "Advisor {STAFF:sa} to call when done.", "Declined: {WORK} ({AMT:m}).",
        "Invoice {INV} closed {DATE}, paid {AMT:m} Visa.", "Loaner {STOCK} out, due back {DATE}.",
        "Winter tires on, summers to storage tag {TAG}.", "Next service due at {KM} or {DATE}.",
        "VIN {VIN}, see prior RO {RO}.", "RO {RO} opened by {STAFF:sa} at {TIME}.", "Road test {N} km, concern gone.",
        "Waiting on parts, {PART} backordered till {DATE}.", "Sublet windshield to glass shop, PO {PO}.",
        "Added {WORK} per approval, new total {AMT:m}.", "Cleared {DTC}, no return after test drive.",
        "Shop supplies {AMT:s}, env. fee {AMT:s}.", "Moved to bay 6, lift 2. {STAFF:tech} on it.",
    ],
    "fr": [
        "Client mentionne {CONCERN}.", "Le client dit {CONCERN}, seulement à froid.", "Vérifié la plainte. Trouvé {FINDING}.",
        "Recommande {WORK}, estimé {AMT:m} + taxes.", "Effectué {OP} – {WORK}. Main-d'œuvre {HRS} h.",
        "Pièce {PART} en commande, arrivée prévue le {DATE}.", "Kilométrage à l'entrée : {KM}.",
        "Tech {STAFF:tech} a fait l'inspection multipoints, RAS sauf {FINDING}.", "Bulletin {TSB} appliqué, reprogrammation faite.",
        "Rappel {CAMP} complété sans frais.", "Étiquette {TAG}, stationné rangée C.", "Entré à {TIME}, promis pour {TIME}.",
        "CT {STAFF:sa} doit rappeler quand c'est prêt.", "Refusé : {WORK} ({AMT:m}).",
        "Facture {INV} fermée le {DATE}, payé {AMT:m} Interac.", "Véhicule de courtoisie {STOCK} prêté, retour le {DATE}.",
        "Pneus d'hiver posés, pneus d'été en entreposage, étiquette {TAG}.", "Prochain entretien à {KM} ou le {DATE}.",
        "NIV {VIN}, voir BT précédent {RO}.", "BT {RO} ouvert par {STAFF:sa} à {TIME}.", "Essai routier {N} km, plus de bruit.",
        "En attente de pièces, {PART} en rupture jusqu'au {DATE}.", "Pare-brise en sous-traitance, bon de commande {PO}.",
        "Ajouté {WORK} suite à l'approbation, nouveau total {AMT:m}.", "Effacé {DTC}, ne revient pas après l'essai.",
        "Fournitures d'atelier {AMT:s}, frais environnementaux {AMT:s}.",
    ],
}
SVC_PII = {
    "en": [
        "Cust {NAME} called at {TIME}, approved brakes.", "{TNAME} waiting in lounge.", "Called {TNAME} at {PHONE}, LVM.",
        "Cust cell {PHONE} - text when ready.", "Customer vehicle {PLATE} in bay 4.", "plate on it is {PLATE}, {COLOR}.",
        "Cust wants invoice emailed to {EMAIL}.", "{PHONE:bare} cust wants a call before any work over {AMT:m}.",
        "RO {RO}/{PHONE:bare}/{STAFF:sa}", "Spouse {CONAME} picking up, ph {COPHONE}.", "Pick up by {CONAME}, has the spare key.",
        "Mobile service at {ADDR} {DATE} am.", "Shuttle drop off to {ADDR:street_city}.", "{SURNAME}'s truck, {VEH}.",
        "Plates are {PLATE}, tag {TAG}.", "customer {NAME} says it started after the last oil change",
        "cust {NAME} ok'd diag {AMT:s}", "Contact {NAME} {PHONE} when done.", "text sent to {PHONE} at {TIME}",
        "Cust {GIVEN} approved by text, total {AMT:m}.", "{NAME} dropped keys in night box, tag {TAG}.",
        "Lic plate {PLATE} on the RO does not match, cust to confirm.", "call back {PHONE:lb} re: quote {AMT:m}",
        "Tow in from {ADDR}, CAA ref {NUM9}.", "{TNAME} asked for a loaner, none available.",
        "cust vehicle {PLATE} - keys on board", "Work phone {PHONE:ext}, ask for {GIVEN}.", "lic {PLATE} exp sticker, told cust",
        "Lic# {PLATE} added to the RO.", "{NAME} - lic plate {PLATE} - {VEH}",
    ],
    "fr": [
        "{G:Client|Cliente} {NAME} a appelé à {TIME}, approuve les freins.", "{TNAME} attend au salon.",
        "Appelé {TNAME} au {PHONE}, laissé un message.", "Cell du client {PHONE}, texter quand prêt.",
        "Véhicule du client {PLATE} dans la baie 4.", "plaque {PLATE}, {COLOR}.", "Envoyer la facture par courriel à {EMAIL}.",
        "{PHONE:bare} rappeler avant tout travail de plus de {AMT:m}.", "BT {RO}/{PHONE:bare}/{STAFF:sa}",
        "{CG:Conjoint|Conjointe} {CONAME} viendra chercher l'auto, tél. {COPHONE}.",
        "Service mobile au {ADDR} le {DATE} en avant-midi.", "Navette : reconduire au {ADDR:street_city}.",
        "le char à {SURNAME}, {VEH}", "Sa plaque c'est {PLATE}.", "auto {PLATE} prête, clés au comptoir",
        "{G:client|cliente} {NAME} dit que ça a commencé après la dernière vidange", "{NAME} a laissé les clés dans la boîte de nuit.",
        "Contacter {NAME} au {PHONE} quand c'est fini.", "texto envoyé au {PHONE} à {TIME}",
        "{GIVEN} a approuvé par texto, total {AMT:m}.", "Immatriculation {PLATE} ne correspond pas au BT, à confirmer.",
        "rappeler au {PHONE:lb} pour l'estimé {AMT:m}", "Remorqué du {ADDR}, réf. CAA {NUM9}.",
        "{TNAME} demande un véhicule de courtoisie, aucun dispo.", "Bureau {PHONE:ext}, demander {GIVEN}.",
    ],
}

# F&I desk notes ----------------------------------------------------------------------------
FI_OPS = {
    "en": [
        "Deal {DEAL} / stk {STOCK} - {VEH}.", "Approved with {LENDER} at {RATE}% for {TERM} months, bi-weekly {AMT:m}.",
        "Cash price {AMT:b}, admin fee {AMT:m}, OMVIC fee {AMT:s}.", "Trade ACV {AMT:b}, payoff {AMT:b} to {LENDER}.",
        "Sold ext. warranty 5yr/160k {AMT:m}, GAP {AMT:m}, rustproofing {AMT:m}.", "Stips outstanding: POI, POA, void cheque.",
        "Funded {DATE}, CIT {N} days.", "Dealertrack app {NUM9}.", "Lender ref {NUM9}, conditional approval.",
        "Desk {STAFF:mgr} / F&I {STAFF:fi}.", "Delivery booked {DATE} at {TIME}.", "Deposit {AMT:m} by e-transfer, conf # {NUM9}.",
        "Dealer HST reg. {BN}.", "Contract {DEAL} signed {DATE}, sent to lender {DATE}.", "Reserve {AMT:m}, back-end gross {AMT:m}.",
        "PPSA registration fee {AMT:s}.", "Tire & rim {AMT:m}, etching declined.", "Rate bumped to {RATE}% after bureau, {STAFF:mgr} ok'd.",
        "VIN {VIN} verified against bill of sale.", "Term changed to {TERM} mo, payment now {AMT:m} monthly.",
        "Manager {STAFF:mgr} approved {AMT:m} discount on stk {STOCK}.", "Odometer disclosure {KM} signed.",
    ],
    "fr": [
        "Transaction {DEAL} / stock {STOCK} – {VEH}.",
        "Approuvé chez {LENDER} à {RATE} % sur {TERM} mois, versements aux deux semaines de {AMT:m}.",
        "Prix comptant {AMT:b}, frais d'administration {AMT:m}.", "Valeur d'échange {AMT:b}, solde à payer {AMT:b} chez {LENDER}.",
        "Garantie prolongée 7 ans/160 000 km {AMT:m}, assurance remplacement {AMT:m}, antirouille {AMT:m}.",
        "Documents manquants : preuve de revenu, preuve de résidence, spécimen de chèque.",
        "Financé le {DATE}, contrat en transit {N} jours.", "No de dossier prêteur {NUM9}.", "DC {STAFF:fi} / directeur des ventes {STAFF:mgr}.",
        "Livraison prévue le {DATE} à {TIME}.", "Dépôt de {AMT:m} par virement Interac, confirmation {NUM9}.",
        "No TPS {BN} / TVQ {QST}.", "NEQ du concessionnaire {NEQ}.", "Contrat signé le {DATE}, envoyé au prêteur le {DATE}.",
        "Frais RDPRM {AMT:s}.", "Taux monté à {RATE} % après le crédit, approuvé par {STAFF:mgr}.",
        "NIV {VIN} vérifié avec le contrat.", "Terme changé à {TERM} mois, paiement de {AMT:m} par mois.",
        "Rabais de {AMT:m} approuvé par {STAFF:mgr} sur le stock {STOCK}.", "Déclaration d'odomètre {KM} signée.",
    ],
}
FI_PII = {
    "en": [
        "Buyer: {NAME:dms}   Co-buyer: {CONAME:dms}", "Buyer {NAME} SIN {SIN} DOB {DOB}", "Co-buyer {CONAME}, DOB {CODOB}, SIN {COSIN}.",
        "DL {DL}", "Driver's licence {DL} on file.", "Cust declined to give SIN, bureau pulled on DOB {DOB} and address.",
        "Res. address {ADDR}, 4 yrs.", "Prev. address {ADDR} (2 yrs).", "Cell {PHONE}, home {PHONE2}.", "Email for e-sign: {EMAIL}",
        "Spouse {CONAME} on title only.", "Insurance quote: postal code {PC}.", "Plate transfer from old car: {PLATE}.",
        "Trade plates are {PLATE}.", "SIN: {SIN:lb} (from the credit app)", "Cust {NAME} wants payments under {AMT:m} bi-weekly.",
        "Reference: {CONAME}, {COPHONE}.", "name: {NAME:dms}", "S.I.N. {SIN}", "social insurance # {SIN}",
        "Date of birth {DOB}, licence {DL}.", "{NAME} - SIN {SIN} - born {DOB}", "Co-buyer DL# {CODL}, DOB {CODOB}",
        "Buyer's cell {PHONE:lb} (copied from app)", "Customer {NAME} signed at {TIME}.", "{TNAME} called re: payment date.",
        "{NAME:dms} {DL:bare} DOB {DOB}",
        "sin# {SIN}, dob {DOB}", "Copy of DL {DL:bare} and void cheque in jacket.", "D/L {DL}, SIN {SIN}",
        "Docs received: {DL:bare}, pay stub, hydro bill.", "Buyer {NAME:dms} - DL {DL} - DOB {DOB}", "DL#: {DL}  exp on file",
    ],
    "fr": [
        "Acheteur : {NAME:dms}   Co-acheteur : {CONAME:dms}", "Acheteur {NAME}, NAS {SIN}, date de naissance {DOB}",
        "{CG:Co-acheteur|Co-acheteuse} {CONAME}, {CG:né|née} le {CODOB}, NAS {COSIN}.", "Permis de conduire {DL}.",
        "Le client refuse de donner son NAS, crédit tiré avec la date de naissance {DOB}.", "Adresse : {ADDR}, depuis 4 ans.",
        "Ancienne adresse {ADDR}.", "Cell {PHONE}, rés. {PHONE2}.", "Courriel pour signature électronique : {EMAIL}",
        "Code postal pour soumission d'assurance : {PC}.", "Transfert de plaque : {PLATE}.", "nom : {NAME:dms}",
        "Référence : {CONAME}, {COPHONE}.", "NAS : {SIN:lb} (copié de la demande)", "N.A.S. {SIN}",
        "numéro d'assurance sociale {SIN}", "Date de naissance {DOB}, permis {DL}.", "{NAME} – NAS {SIN} – {G:né|née} le {DOB}",
        "Permis du co-acheteur {CODL}, DDN {CODOB}", "Cell de l'acheteur {PHONE:lb} (copié de la demande)",
        "{G:Client|Cliente} {NAME} a signé à {TIME}.", "{TNAME} a appelé pour la date de paiement.", "{NAME:dms} {DL:bare} DDN {DOB}",
        "Copie du permis {DL:bare} et spécimen de chèque au dossier.", "Nom : {NAME:dms}", "no de permis {DL}, NAS {SIN}",
        "Pièces reçues : {DL:bare}, talon de paie, preuve de résidence.", "Acheteur {NAME:dms} – permis {DL} – DDN {DOB}",
    ],
}

# Contract / deal-jacket remarks -------------------------------------------------------------
CONTRACT_OPS = {
    "en": [
        "Deal jacket {DEAL} reviewed by {STAFF:sa|fi} on {DATE}.", "Bill of sale amended: cash price {AMT:b}, trade allowance {AMT:b}.",
        "Missing signature on page 3, initials needed on GAP waiver.", "Stock {STOCK} sold as-is, safety not included.",
        "VIN on bill of sale {VIN} matches ownership.", "Odometer statement {KM} signed at delivery.",
        "PO {PO} from fleet account, invoice {INV}.", "Dealer HST {BN}.", "Deposit {AMT:m} non-refundable after {DATE}.",
        "Admin fee {AMT:m} disclosed on the bill of sale.", "Delivery {DATE} {TIME}, PDI done by {STAFF:sls|sa}.",
        "Lender ref {NUM9}, funded {DATE}.", "We-owe: floor mats, second key fob, {AMT:m} credit.",
        "Licensing fee {AMT:s} and tire levy {AMT:s} collected.", "Extended warranty contract {CLAIM} registered {DATE}.",
        "Trade VIN {VIN}, {KM}, lien paid out {AMT:b} on {DATE}.", "Rebate {AMT:m} applied, program code {OP}.",
        "Contract re-contracted {DATE} at {RATE}% by {STAFF:fi}.", "Funding package sent {DATE} {TIME}.",
    ],
    "fr": [
        "Contrat {DEAL} révisé par {STAFF:sa|fi} le {DATE}.", "Acte de vente modifié : prix {AMT:b}, valeur d'échange {AMT:b}.",
        "Signature manquante en page 3, initiales requises sur la renonciation.", "Stock {STOCK} vendu tel quel.",
        "NIV au contrat {VIN} conforme au certificat d'immatriculation.", "Déclaration d'odomètre {KM} signée à la livraison.",
        "Bon de commande {PO} du compte flotte, facture {INV}.", "TPS {BN} TVQ {QST}.", "NEQ {NEQ}.",
        "Dépôt de {AMT:m} non remboursable après le {DATE}.", "Livraison le {DATE} à {TIME}, inspection par {STAFF:sls|sa}.",
        "À fournir : tapis, deuxième clé, crédit de {AMT:m}.", "Frais d'immatriculation {AMT:s} perçus.",
        "Contrat de garantie prolongée {CLAIM} enregistré le {DATE}.", "NIV de l'échange {VIN}, {KM}, solde payé {AMT:b} le {DATE}.",
        "Rabais manufacturier {AMT:m} appliqué, code de programme {OP}.", "Dossier prêteur {NUM9}, financé le {DATE}.",
    ],
}
CONTRACT_PII = {
    "en": [
        "BUYER: {NAME:dms}", "CO-BUYER: {CONAME:dms}", "ADDRESS: {ADDR}", "PH: {PHONE}", "DL# {DL}",
        "Ownership in the names of {NAME} and {CONAME}.", "Customer {NAME} acknowledges the vehicle is sold as-is.",
        "Plate {PLATE} transferred from the trade.", "DOB {DOB}", "Buyer email {EMAIL} for the e-contract.",
        "Co-buyer phone {COPHONE}, SIN {COSIN}.", "Mailing address {ADDR} differs from licence address.", "CO-BUYER DL {CODL}",
        "{TNAME} to bring void cheque.", "SIN {SIN} on credit application.", "Cust: {NAME:dms}   Tel: {PHONE}",
    ],
    "fr": [
        "ACHETEUR : {NAME:dms}", "CO-ACHETEUR : {CONAME:dms}", "ADRESSE : {ADDR}", "TÉL : {PHONE}", "PERMIS : {DL}",
        "Immatriculé au nom de {NAME} et {CONAME}.", "{G:Le client|La cliente} {NAME} reconnaît que le véhicule est vendu tel quel.",
        "Plaque {PLATE} transférée de l'échange.", "Date de naissance : {DOB}", "Courriel de l'acheteur {EMAIL} pour le contrat électronique.",
        "Tél. du co-acheteur {COPHONE}, NAS {COSIN}.", "Adresse postale {ADDR} différente de celle du permis.", "PERMIS CO-ACHETEUR {CODL}",
        "{TNAME} doit apporter un spécimen de chèque.", "NAS {SIN} sur la demande de crédit.", "Client : {NAME:dms}   Tél : {PHONE}",
    ],
}

# Long contract clauses (for the multi-page remarks) -------------------------------------------
CLAUSES = {
    "en": [
        "The purchaser acknowledges that the vehicle described above (stock {STOCK}, VIN {VIN}) was inspected on {DATE} and accepted in its present condition.",
        "The total price of {AMT:b} includes freight and PDI, the administration fee of {AMT:m}, and all mandatory levies; HST is charged under registration {BN}.",
        "The trade-in allowance of {AMT:b} is conditional on the trade arriving with the same equipment and within 500 km of the {KM} recorded at appraisal.",
        "Any lien on the trade-in will be paid out by the dealer from the allowance; a payout difference above {AMT:b} is payable by the purchaser.",
        "The extended service contract, registration {CLAIM}, starts on the delivery date and may be cancelled within 30 days for a full refund.",
        "The dealer will supply the following after delivery (we-owe): second key fob, all-weather mats, and a {AMT:m} service credit valid until {DATE}.",
        "Financing is subject to lender approval; the lender reference is {NUM9} and the first payment is due on {DATE}.",
        "The purchaser confirms that no representation was made regarding fuel economy other than the published rating.",
        "Deposits are non-refundable after {DATE} except where the dealer cannot deliver the vehicle described.",
        "The odometer reading at delivery is {KM}; the purchaser has read the disclosure statement and initialled each page.",
        "Delivery was completed on {DATE} at {TIME} by {STAFF:sls}; the desk manager {STAFF:mgr} approved the final figures.",
        "Warranty work performed under RO {RO} before delivery is listed on invoice {INV} at no charge to the purchaser.",
        "Open recall {CAMP} was completed before delivery; bulletin {TSB} does not apply to this VIN.",
        "The purchaser was offered and declined the following products: tire and rim, appearance protection, key replacement.",
        "This agreement, with its schedules, is the entire agreement between the parties; no verbal promises bind the dealer.",
        "Cancellation after signature is subject to a fee of {AMT:m} to cover preparation and registration costs.",
    ],
    "fr": [
        "L'acheteur reconnaît que le véhicule décrit ci-dessus (stock {STOCK}, NIV {VIN}) a été inspecté le {DATE} et accepté dans son état actuel.",
        "Le prix total de {AMT:b} comprend le transport et la préparation, les frais d'administration de {AMT:m} et les droits exigibles; TPS {BN}, TVQ {QST}.",
        "La valeur d'échange de {AMT:b} est conditionnelle à ce que le véhicule d'échange soit livré avec le même équipement et à moins de 500 km des {KM} notés à l'évaluation.",
        "Tout solde sur le véhicule d'échange sera remboursé par le commerçant; un écart de plus de {AMT:b} est payable par l'acheteur.",
        "Le contrat de garantie prolongée, enregistrement {CLAIM}, débute à la date de livraison et peut être annulé dans les 30 jours.",
        "Le commerçant fournira après la livraison : une deuxième clé, des tapis toutes saisons et un crédit de service de {AMT:s} valide jusqu'au {DATE}.",
        "Le financement est sujet à l'approbation du prêteur; référence {NUM9}, premier versement le {DATE}.",
        "L'acheteur confirme qu'aucune représentation n'a été faite quant à la consommation d'essence autre que la cote publiée.",
        "Le dépôt n'est pas remboursable après le {DATE}, sauf si le commerçant ne peut livrer le véhicule décrit.",
        "Le kilométrage à la livraison est de {KM}; l'acheteur a lu la déclaration et paraphé chaque page.",
        "Livraison effectuée le {DATE} à {TIME} par {STAFF:sls}; chiffres finaux approuvés par {STAFF:mgr}.",
        "Les travaux sous garantie effectués au BT {RO} avant la livraison figurent à la facture {INV}, sans frais.",
        "Le rappel {CAMP} a été complété avant la livraison; le bulletin {TSB} ne s'applique pas à ce NIV.",
        "L'acheteur a refusé les produits suivants : pneus et jantes, protection d'apparence, remplacement de clé.",
        "Le présent contrat et ses annexes constituent l'entente complète; aucune promesse verbale ne lie le commerçant. Entreprise NEQ {NEQ}.",
        "Une annulation après signature entraîne des frais de {AMT:m} pour la préparation et l'immatriculation.",
    ],
}
CLAUSES_PII = {
    "en": [
        "Purchaser: {NAME}, residing at {ADDR}, telephone {PHONE}, driver's licence {DL}.",
        "Co-purchaser: {CONAME}, date of birth {CODOB}, telephone {COPHONE}.",
        "Notices under this agreement will be sent to {EMAIL} or by mail to {ADDR}.",
        "The purchaser {NAME} authorises the dealer to transfer plate {PLATE} from the trade-in to the vehicle purchased.",
        "For the credit application the purchaser provided SIN {SIN} and date of birth {DOB}; both are kept in the locked file.",
        "Signed at {TIME} by {NAME:dms} and witnessed by {STAFF:sls|sa}.",
    ],
    "fr": [
        "Acheteur : {NAME}, domicilié au {ADDR}, téléphone {PHONE}, permis de conduire {DL}.",
        "Co-acheteur : {CONAME}, date de naissance {CODOB}, téléphone {COPHONE}.",
        "Les avis seront envoyés à {EMAIL} ou par la poste au {ADDR}.",
        "L'acheteur {NAME} autorise le commerçant à transférer la plaque {PLATE} du véhicule d'échange au véhicule acheté.",
        "Pour la demande de crédit, l'acheteur a fourni son NAS {SIN} et sa date de naissance {DOB}; conservés au dossier sous clé.",
        "Signé à {TIME} par {NAME:dms}, témoin {STAFF:sls|sa}.",
    ],
}

# CRM contact logs and BDC call notes -----------------------------------------------------
CRM_OPS = {
    "en": [
        "{DATE} {TIME} {STAFF:bdc|sls} Lead {LEAD} assigned, source AutoTrader.", "{DATE} {TIME} {STAFF:bdc|sls} Appt set {DATE} {TIME} (appt {APPT}).",
        "{DATE} {TIME} {STAFF:sls|bdc} Quote sent for stk {STOCK}: {AMT:b} + tax.", "{DATE} {TIME} {STAFF:sls|bdc} No answer, will retry.",
        "{DATE} {TIME} {STAFF:sls|bdc} Service reminder sent, due at {KM}.", "{DATE} {TIME} {STAFF:sls|bdc} Deal {DEAL} moved to F&I.",
        "{DATE} {TIME} {STAFF:sls|bdc} Trade appraised {AMT:b}, see VIN {VIN}.", "{DATE} {TIME} {STAFF:sls|bdc} Task closed, sold stk {STOCK}.",
        "{DATE} {TIME} {STAFF:sls|bdc} Be-back, drove {STOCK} again.", "{DATE} {TIME} {STAFF:sls|bdc} Lease maturity {DATE}, sent pull-ahead offer.",
    ],
    "fr": [
        "{DATE} {TIME} {STAFF:bdc|sls} Demande {LEAD} assignée, source Kijiji Autos.", "{DATE} {TIME} {STAFF:bdc|sls} RDV fixé le {DATE} à {TIME} (no {APPT}).",
        "{DATE} {TIME} {STAFF:sls|bdc} Soumission envoyée pour le stock {STOCK} : {AMT:b} + taxes.", "{DATE} {TIME} {STAFF:sls|bdc} Pas de réponse, réessayer demain.",
        "{DATE} {TIME} {STAFF:bdc|sls} Rappel d'entretien envoyé, dû à {KM}.", "{DATE} {TIME} {STAFF:bdc|sls} Transaction {DEAL} transférée au DC.",
        "{DATE} {TIME} {STAFF:sls|bdc} Échange évalué à {AMT:b}, NIV {VIN}.", "{DATE} {TIME} {STAFF:sls|bdc} Tâche fermée, vendu le stock {STOCK}.",
        "{DATE} {TIME} {STAFF:sls|bdc} Fin de location le {DATE}, offre de renouvellement envoyée.",
    ],
}
CRM_PII = {
    "en": [
        "{DATE} {TIME} {STAFF:bdc|sls} Outbound call to {PHONE} - no answer, LVM.", "{DATE} {TIME} {STAFF:bdc|sls} Text sent to {PHONE}: your quote is ready.",
        "{DATE} {TIME} {STAFF:sls|bdc} Email to {EMAIL}: quote for stk {STOCK}.", "{DATE} {TIME} {STAFF:sls|bdc} Cust {NAME} came in, drove {STOCK}, wants numbers.",
        "{DATE} {TIME} {STAFF:bdc|sls} {PHONE:bare} called back, wants trade value.", "{DATE} {TIME} {STAFF:bdc|sls} Inbound call from {NAME}, {PHONE}.",
        "{DATE} {TIME} {STAFF:bdc|sls} Spoke to spouse {CONAME}, call back after 6.", "{DATE} {TIME} {STAFF:bdc|sls} Updated address to {ADDR}.",
        "{DATE} {TIME} {STAFF:bdc|sls} Email bounced, new one is {EMAIL}.", "{DATE} {TIME} {STAFF:bdc|sls} {TNAME} confirmed appt {APPT}.",
        "{DATE} {TIME} {STAFF:sls|bdc} customer vehicle {PLATE} - wants trade numbers", "{DATE} {TIME} {STAFF:sls|bdc} Bday {DOB}, send coupon.",
        "{DATE} {TIME} {STAFF:bdc|sls} call {PHONE:lb} tomorrow am", "{DATE} {TIME} {STAFF:bdc|sls} walk-in {NAME} {PHONE}",
        "{DATE} {TIME} {STAFF:bdc|sls} stk {STOCK} {PHONE:bare} {DEAL}", "{DATE} {TIME} {STAFF:bdc|sls} {LEAD}/{PHONE:bare}/{STOCK}",
        "{DATE} {TIME} {STAFF:sls} Credit app started for {NAME}, SIN {SIN}, DOB {DOB}", "{DATE} {TIME} {STAFF:sls} cust gave sin {SIN:lb} over the phone",
    ],
    "fr": [
        "{DATE} {TIME} {STAFF:bdc|sls} Appel sortant au {PHONE} – pas de réponse, message laissé.", "{DATE} {TIME} {STAFF:bdc|sls} Texto envoyé au {PHONE} : soumission prête.",
        "{DATE} {TIME} {STAFF:sls|bdc} Courriel à {EMAIL} : prix pour le stock {STOCK}.",
        "{DATE} {TIME} {STAFF:sls|bdc} {G:Client|Cliente} {NAME} passé en salle de montre, essai routier {STOCK}.",
        "{DATE} {TIME} {STAFF:bdc|sls} {PHONE:bare} a rappelé, veut la valeur de son échange.", "{DATE} {TIME} {STAFF:bdc|sls} Appel entrant de {NAME}, {PHONE}.",
        "{DATE} {TIME} {STAFF:bdc|sls} Parlé au {CG:conjoint|à la conjointe} {CONAME}, rappeler après 18h.",
        "{DATE} {TIME} {STAFF:sls|bdc} Nouvelle adresse : {ADDR}.", "{DATE} {TIME} {STAFF:sls|bdc} Courriel retourné, nouveau : {EMAIL}.",
        "{DATE} {TIME} {STAFF:bdc|sls} {TNAME} a confirmé le RDV {APPT}.", "{DATE} {TIME} {STAFF:bdc|sls} auto {PLATE}, veut un prix pour l'échange",
        "{DATE} {TIME} {STAFF:sls|bdc} Date de naissance {DOB}, envoyer coupon d'anniversaire.",
        "{DATE} {TIME} {STAFF:bdc|sls} rappeler {PHONE:lb} demain matin", "{DATE} {TIME} {STAFF:bdc|sls} sans RDV : {NAME} {PHONE}",
        "{DATE} {TIME} {STAFF:bdc|sls} stock {STOCK} {PHONE:bare} {DEAL}", "{DATE} {TIME} {STAFF:bdc|sls} {LEAD}/{PHONE:bare}/{STOCK}",
        "{DATE} {TIME} {STAFF:sls} Demande de crédit commencée pour {NAME}, NAS {SIN}, DDN {DOB}", "{DATE} {TIME} {STAFF:sls} client a donné son NAS {SIN:lb} au téléphone",
    ],
}
BDC_OPS = {
    "en": [
        "BDC {STAFF:bdc}: service reminder campaign, {N} calls today.", "Booked {DATE} {TIME}, appt {APPT}, LOF + rotation.",
        "Recall {CAMP} parts not in yet, hold off booking.", "Confirmed appt {APPT} for {DATE}.", "Transferred to sales desk {STAFF:mgr}.",
        "Quoted winter tire package {AMT:m} installed.", "Declined service, says it was done elsewhere at {KM}.",
        "Left VM, second attempt.", "No-show {DATE}, rebooked {DATE} {TIME}.", "Equity alert: payoff approx {AMT:b} on deal {DEAL}.",
    ],
    "fr": [
        "BDC {STAFF:bdc} : campagne de rappels d'entretien, {N} appels aujourd'hui.", "RDV le {DATE} à {TIME}, no {APPT}, vidange + permutation.",
        "Pièces du rappel {CAMP} pas encore reçues, ne pas céduler.", "RDV {APPT} confirmé pour le {DATE}.",
        "Transféré au directeur des ventes {STAFF:mgr}.", "Prix pour l'ensemble pneus d'hiver {AMT:m} installé.",
        "Refuse l'entretien, fait ailleurs à {KM}.", "Message laissé, deuxième tentative.", "Absent le {DATE}, recédulé le {DATE} à {TIME}.",
        "Alerte équité : solde environ {AMT:b} sur la transaction {DEAL}.",
    ],
}
BDC_PII = {
    "en": [
        "BDC {STAFF:bdc}: called {NAME} at {PHONE} re: service reminder, booked {DATE} {TIME}.", "No answer at {PHONE}, sent text.",
        "Cust says wrong number, remove {PHONE} from file.", "Cust {NAME} asked for a callback from sales re: stk {STOCK}.",
        "{PHONE:bare} busy x3", "Spoke w/ {TNAME}, wants a loaner for {DATE}.", "Email confirmation to {EMAIL}.",
        "RO {RO} {PHONE:bare} {APPT}", "{APPT} {PHONE:bare} LVM",
        "cust {NAME} moved, new address {ADDR}", "spouse {CONAME} answered, {GIVEN} at work until 5",
        "Updated cell {PHONE} (old {PHONE2})", "{NAME} {PHONE} - recall {CAMP} booked {DATE}",
        "Contact: {NAME} / {PHONE:lb} / {EMAIL}", "Customer vehicle plate {PLATE}, 2nd car also due.",
        "Hi {GIVEN}, this is a reminder that your {MODEL} is due for service. Reply YES to book.",
    ],
    "fr": [
        "BDC {STAFF:bdc} : appelé {NAME} au {PHONE} pour rappel d'entretien, RDV le {DATE} à {TIME}.", "Pas de réponse au {PHONE}, texto envoyé.",
        "Client dit mauvais numéro, retirer {PHONE} du dossier.", "{G:Client|Cliente} {NAME} veut être rappelé par un vendeur pour le stock {STOCK}.",
        "{PHONE:bare} occupé x3", "Parlé à {TNAME}, veut un véhicule de courtoisie pour le {DATE}.", "Confirmation par courriel à {EMAIL}.",
        "BT {RO} {PHONE:bare} {APPT}", "{APPT} {PHONE:bare} message laissé",
        "{G:client|cliente} {NAME} a déménagé, nouvelle adresse {ADDR}", "{CG:conjoint|conjointe} {CONAME} a répondu, {GIVEN} au travail jusqu'à 17h",
        "Nouveau cell {PHONE} (ancien {PHONE2})", "{NAME} {PHONE} – rappel {CAMP} cédulé le {DATE}",
        "Contact : {NAME} / {PHONE:lb} / {EMAIL}", "Plaque du véhicule du client {PLATE}, 2e véhicule aussi dû.",
        "Bonjour {GIVEN}, votre {MODEL} est dû pour un entretien. Répondez OUI pour prendre rendez-vous.",
    ],
}

# Warranty claims --------------------------------------------------------------------------
WARRANTY_OPS = {
    "en": [
        "Claim {CLAIM} / RO {RO} / VIN {VIN}", "Odo {KM}, in-service date {DATE}.", "Labour op {OP}, {HRS} hrs, tech {STAFF:tech}.",
        "Causal part {PART}, qty 1.", "Condition: {CONCERN}.", "Cause: {FINDING}.", "Correction: performed {WORK}, verified repair.",
        "Per TSB {TSB}.", "Campaign {CAMP} not applicable.", "Submitted {DATE} by {STAFF:sa|fi}, status pending.",
        "Claim amount {AMT:m} (parts {AMT:m}, labour {AMT:m}).", "Prior approval # {CLAIM} from field rep.", "Debited {DATE}, resubmit with photos.",
        "DTC {DTC} freeze frame attached.", "Sublet towing {AMT:s}, invoice {INV}.",
    ],
    "fr": [
        "Réclamation {CLAIM} / BT {RO} / NIV {VIN}", "Odomètre {KM}, date de mise en service {DATE}.",
        "Code d'opération {OP}, {HRS} h, tech {STAFF:tech}.", "Pièce causale {PART}, qté 1.", "Condition : {CONCERN}.", "Cause : {FINDING}.",
        "Correction : {WORK} effectué(e)s, réparation vérifiée.", "Selon le bulletin {TSB}.", "Campagne {CAMP} non applicable.",
        "Soumise le {DATE} par {STAFF:sa|fi}, en attente.", "Montant réclamé {AMT:m} (pièces {AMT:m}, main-d'œuvre {AMT:m}).",
        "Autorisation préalable no {CLAIM} du représentant.", "Débitée le {DATE}, resoumettre avec photos.",
        "Code {DTC}, données figées jointes.", "Remorquage en sous-traitance {AMT:s}, facture {INV}.",
    ],
}
WARRANTY_PII = {
    "en": [
        "Owner: {NAME:dms}", "Customer {NAME} states {CONCERN}.", "Owner contact {PHONE} for field rep callback.",
        "Vehicle towed from {ADDR}.", "Cust plate {PLATE} (rental billed to claim).", "{TNAME} reports the same noise since delivery.",
    ],
    "fr": [
        "Propriétaire : {NAME:dms}", "{G:Le client|La cliente} {NAME} mentionne {CONCERN}.", "Contact du propriétaire {PHONE} pour le représentant.",
        "Véhicule remorqué du {ADDR}.", "Plaque du client {PLATE} (location facturée à la réclamation).", "{TNAME} signale le même bruit depuis la livraison.",
    ],
}

# Trade-in appraisals ----------------------------------------------------------------------
APPRAISAL_OPS = {
    "en": [
        "Trade: {VEH}, {COLOR}, VIN {VIN}.", "Odo {KM}, 2 keys, no manuals.", "ACV {AMT:b}, recon est. {AMT:m}.",
        "Payoff {AMT:b} to {LENDER}, good until {DATE}.", "Appraiser {STAFF:mgr|sls}, {DATE} {TIME}.", "Tires 6/32, brakes 40%, windshield chipped.",
        "CARFAX shows 1 claim {AMT:m}, no structural.", "Wholesale bid {AMT:b} from auction, ref {NUM9}.", "Book value {AMT:b}, offer {AMT:b}.",
        "Stock-in as {STOCK} once the deal {DEAL} funds.", "Check engine on, code {DTC}.", "Open recall {CAMP}, book at service.",
    ],
    "fr": [
        "Échange : {VEH}, {COLOR}, NIV {VIN}.", "Odomètre {KM}, 2 clés, pas de manuels.", "Valeur réelle {AMT:b}, reconditionnement estimé {AMT:m}.",
        "Solde de {AMT:b} chez {LENDER}, valide jusqu'au {DATE}.", "Évaluateur {STAFF:mgr|sls}, {DATE} {TIME}.",
        "Pneus 6/32, freins 40 %, pare-brise fissuré.", "CARFAX : 1 réclamation {AMT:m}, aucun dommage structural.",
        "Offre en gros {AMT:b} de l'encan, réf. {NUM9}.", "Valeur au livre {AMT:b}, offre {AMT:b}.", "Entré en stock {STOCK} quand la transaction {DEAL} sera financée.",
        "Témoin moteur allumé, code {DTC}.", "Rappel ouvert {CAMP}, céduler au service.",
    ],
}
APPRAISAL_PII = {
    "en": [
        "Owner {NAME}, ph {PHONE}.", "trade {PLATE} - {VEH}, {KM}", "plates are {PLATE}, sticker expired.",
        "Registered to {NAME:dms} and {CONAME:dms}.", "Customer {NAME} wants {AMT:b} for it.", "Trade-in plate {PLATE} to be transferred.",
        "Cust {NAME} lives at {ADDR:street_city}, will drop the trade off.", "auto {PLATE} in lot B",
    ],
    "fr": [
        "Propriétaire {NAME}, tél. {PHONE}.", "échange {PLATE} – {VEH}, {KM}", "la plaque c'est {PLATE}.",
        "Immatriculé au nom de {NAME:dms} et {CONAME:dms}.", "{G:Le client|La cliente} {NAME} en veut {AMT:b}.",
        "Plaque de l'échange {PLATE} à transférer.", "{G:Client|Cliente} {NAME} demeure au {ADDR:street_city}, va déposer l'échange.",
        "auto {PLATE} dans le stationnement B",
    ],
}

# Mixed English/French sentences (code-switching inside a sentence) -------------------------------
MIXED_PII = [
    "Cust called, il veut déplacer son RDV au {DATE} {TIME}. Cell {PHONE}.", "{G:Client|Cliente} {NAME} wants a call back, tél. {PHONE}.",
    "Spoke w/ {TNAME}, elle approuve les freins, total {AMT:m}.", "Plaque {PLATE}, cust waiting in lounge.",
    "Email le devis à {EMAIL} svp.", "Cust {NAME} demeure au {ADDR}, mobile service ok.", "NAS {SIN}, DOB {DOB} - credit app done.",
    "Buyer {NAME:dms} / co-acheteur {CONAME:dms}", "rappeler {NAME} au {PHONE:lb} re: trade", "trade {PLATE}, payoff {AMT:b} chez {LENDER}",
    "Permis {DL}, SIN declined.", "DL {DL} – NAS {SIN}", "lic plate {PLATE}, cust attend au salon", "customer vehicle {PLATE} - pneus d'hiver à poser", "{PHONE:bare} veut un prix sur le stock {STOCK}",
    "Contact: {NAME} | {PHONE} | {EMAIL}", "Code postal {PC} for the insurance quote.", "{TNAME} called, elle arrive à {TIME}.",
]
MIXED_OPS = [
    "RO {RO} – brakes faits, ready at {TIME}.", "Pièce {PART} backordered, ETA {DATE}.", "Deal {DEAL} funded, CIT {N} jours.",
    "Tech {STAFF:tech} a fait le road test, all good.", "Stock {STOCK} vendu, delivery {DATE}.", "Recall {CAMP} complété, no charge.",
    "Invoice {INV} payée {AMT:m}.", "Odo {KM}, next LOF dans 8 000 km.", "VIN {VIN} – warranty claim {CLAIM} soumise.",
    "Desk {STAFF:mgr} ok pour {AMT:m} off, stk {STOCK}.",
]

# Customer e-mails from bilingual writers.
MIXED_EMAIL_OPS = [
    "Le bruit is back since {DATE}, around {KM}.", "Can you check if the rappel {CAMP} is done?",
    "J'ai payé {AMT:m} on invoice {INV} but I was quoted less.", "Is stock {STOCK} still disponible?",
    "Je suis dispo {DATE} at {TIME} for the appointment.",
]
MIXED_EMAIL_PII = [
    "Mon cell c'est le {PHONE}, call me anytime after 4.", "Please send the estimé to {EMAIL}, merci!",
    "J'habite au {ADDR}, so the pickup is easy.", "My plaque is {PLATE} for the loaner.",
    "Mon NAS est {SIN} and my DOB is {DOB}, for the credit app.", "{CG:Mon chum|Ma blonde} {CONAME} will drop it off.",
]

# ----------------------------------------------------------------------------------------------
# Kind composers
# ----------------------------------------------------------------------------------------------

KINDS = ["service_note", "fi_note", "contract_remark", "customer_email", "crm_log", "web_form", "warranty_claim",
         "trade_appraisal", "bdc_call"]
KIND_COUNTS = {"service_note": 235, "fi_note": 190, "contract_remark": 150, "customer_email": 200, "crm_log": 165,
               "web_form": 150, "warranty_claim": 115, "trade_appraisal": 130, "bdc_call": 165}
NO_PII_SHARE = {"warranty_claim": 0.55, "service_note": 0.18, "contract_remark": 0.15, "trade_appraisal": 0.2,
                "crm_log": 0.12, "bdc_call": 0.14, "fi_note": 0.1, "customer_email": 0.1, "web_form": 0.05}


class Composer:
    def __init__(self, g: Gen):
        self.g = g
        self.rng = g.rng

    def pools(self, ops: dict, pii: dict, lang: str) -> tuple[list[str], list[str]]:
        if lang == "mixed":
            return ops["en"] + ops["fr"] + MIXED_OPS, pii["en"] + pii["fr"] + MIXED_PII
        return ops[lang], pii[lang]

    def sentences(self, doc: Doc, ops: list[str], pii: list[str], n_ops: int, n_pii: int, joiner: str) -> None:
        rng = self.rng
        seq = [("o", t) for t in rng.sample(ops, min(n_ops, len(ops)))] + [("p", t) for t in rng.sample(pii, min(n_pii, len(pii)))]
        rng.shuffle(seq)
        for i, (_, t) in enumerate(seq):
            if i:
                doc.lit(joiner, typo_ok=False)
            self.set_mixed_lang(t)
            self.g.render(doc, t)

    def set_mixed_lang(self, tpl: str) -> None:
        # In mixed notes, entity surface forms follow the language of the sentence being written.
        frenchy = re.search(r"[éèàçû]|\b(le|la|les|au|du|des|pour|avec|client|cliente|veut|rappeler|plaque|NAS|RDV|tél)\b", tpl)
        self.g.mixed_lang = "fr" if frenchy else "en"

    def layout(self) -> str:
        return self.rng.choice([" ", " ", "\n", "\n- ", "\n• ", " ", "\n* ", "\n"])

    def counts(self, size: str, has_pii: bool) -> tuple[int, int]:
        rng = self.rng
        if size == "one":
            return (0, 1) if has_pii else (1, 0)
        if size == "short":
            return rng.randrange(1, 4), (rng.randrange(1, 3) if has_pii else 0)
        if size == "medium":
            return rng.randrange(3, 7), (rng.randrange(2, 5) if has_pii else 0)
        return rng.randrange(7, 12), (rng.randrange(4, 8) if has_pii else 0)

    def generic(self, doc: Doc, ops: dict, pii: dict, lang: str, size: str, has_pii: bool, header: str | None = None) -> None:
        o, p = self.pools(ops, pii, lang)
        n_ops, n_pii = self.counts(size, has_pii)
        joiner = self.layout()
        if header:
            self.set_mixed_lang(header)
            self.g.render(doc, header)
            doc.lit("\n" if "\n" in joiner else " ", typo_ok=False)
            if joiner.startswith("\n") and joiner != "\n":
                doc.lit(joiner.strip() + " ", typo_ok=False)
        elif joiner.startswith("\n") and joiner != "\n":
            doc.lit(joiner.strip() + " ", typo_ok=False)
        self.sentences(doc, o, p, n_ops, n_pii, joiner)

    # -- per kind --------------------------------------------------------------------------------

    def service_note(self, doc: Doc, lang: str, size: str, has_pii: bool) -> None:
        hdr = self.rng.choice([None, "RO {RO} - {VEH} - VIN {VIN}", "RO#{RO} {STAFF:sa|tech}", "BT {RO} – {VEH}", "R.O. {RO} / tag {TAG} / {KM}",
                               "Tech notes RO {RO}:", "BT no {RO} – tech {STAFF:tech}"])
        if hdr and lang == "fr" and hdr.startswith("R"):
            hdr = "BT {RO} – {VEH} – NIV {VIN}"
        self.generic(doc, SVC_OPS, SVC_PII, lang, size, has_pii, hdr)

    def fi_note(self, doc: Doc, lang: str, size: str, has_pii: bool) -> None:
        if has_pii and size in ("medium", "long") and self.rng.random() < 0.45:
            self.credit_block(doc, lang)
            doc.lit("\n", typo_ok=False)
            o, _ = self.pools(FI_OPS, FI_PII, lang)
            self.sentences(doc, o, [], self.rng.randrange(2, 6), 0, "\n")
            return
        if size in ("medium", "long") and self.rng.random() < 0.25:
            self.products_table(doc, lang)
            doc.lit("\n", typo_ok=False)
            size = "short"
        hdr = self.rng.choice([None, "DEAL {DEAL} STK {STOCK}", "F&I notes deal {DEAL}:", "Transaction {DEAL} – notes DC"])
        if hdr and lang == "fr" and hdr.startswith("F&I"):
            hdr = "Notes DC, transaction {DEAL} :"
        self.generic(doc, FI_OPS, FI_PII, lang, size, has_pii, hdr)

    def products_table(self, doc: Doc, lang: str) -> None:
        """A product menu pasted from the F&I software, fixed-width or pipe-separated."""
        g, rng = self.g, self.rng
        fr = lang == "fr"
        g.mixed_lang = "fr" if fr else "en"
        rows = ([("Garantie prolongée", "{AMT:m}"), ("Assurance remplacement", "{AMT:m}"), ("Antirouille", "{AMT:m}"),
                 ("Pneus et jantes", "{AMT:m}"), ("Gravure antivol", "{AMT:s}"), ("Frais d'administration", "{AMT:m}")] if fr else
                [("Extended warranty", "{AMT:m}"), ("GAP insurance", "{AMT:m}"), ("Rustproofing", "{AMT:m}"), ("Tire & rim", "{AMT:m}"),
                 ("Etching", "{AMT:s}"), ("Admin fee", "{AMT:m}")])
        rows = rng.sample(rows, rng.randrange(3, len(rows) + 1))
        pipe = rng.random() < 0.5
        g.render(doc, ("Produits – transaction {DEAL} ({DATE})\n" if fr else "Products - deal {DEAL} ({DATE})\n"))
        for name, amt in rows:
            doc.lit((f"{name} | " if pipe else f"{name:<26}"), typo_ok=False)
            g.render(doc, amt + "\n")
        g.render(doc, ("Total : {AMT:m}   DC {STAFF:fi}" if fr else "Total: {AMT:m}   F&I {STAFF:fi}"))

    def credit_block(self, doc: Doc, lang: str) -> None:
        g = self.g
        fr = lang == "fr" or (lang == "mixed" and self.rng.random() < 0.5)
        g.mixed_lang = "fr" if fr else "en"
        if fr:
            rows = ["DEMANDE DE CRÉDIT – transaction {DEAL}", "Nom : {NAME:dms}", "Date de naissance : {DOB}", "NAS : {SIN}",
                    "Adresse : {ADDR}", "Tél. rés. : {PHONE}", "Cellulaire : {PHONE2}", "Courriel : {EMAIL}", "Permis : {DL}",
                    "Revenu mensuel brut : {AMT:m}", "Loyer / hypothèque : {AMT:m}"]
            if self.rng.random() < 0.5:
                rows += ["{CG:Co-demandeur|Co-demanderesse} : {CONAME:dms}", "DDN : {CODOB}", "NAS : {COSIN}"]
        else:
            rows = ["CREDIT APPLICATION - deal {DEAL}", "Name: {NAME:dms}", "Date of Birth: {DOB}", "SIN: {SIN}", "Address: {ADDR}",
                    "Home Phone: {PHONE}", "Cell: {PHONE2}", "Email: {EMAIL}", "Driver's Licence: {DL}", "Gross monthly income: {AMT:m}",
                    "Rent / mortgage: {AMT:m}"]
            if self.rng.random() < 0.5:
                rows += ["Co-applicant: {CONAME:dms}", "DOB: {CODOB}", "SIN: {COSIN}"]
        rows = [rows[0]] + [r for r in rows[1:] if self.rng.random() < 0.9]
        for i, r in enumerate(rows):
            if i:
                doc.lit("\n", typo_ok=False)
            g.render(doc, r)

    def contract_remark(self, doc: Doc, lang: str, size: str, has_pii: bool) -> None:
        if size == "long":
            self.long_contract(doc, lang, has_pii)
            return
        self.generic(doc, CONTRACT_OPS, CONTRACT_PII, lang, size, has_pii,
                     self.rng.choice([None, "REMARKS DEAL {DEAL}:", "Deal jacket {DEAL} - stk {STOCK}"]) if lang != "fr"
                     else self.rng.choice([None, "REMARQUES CONTRAT {DEAL} :", "Dossier {DEAL} – stock {STOCK}"]))

    def long_contract(self, doc: Doc, lang: str, has_pii: bool) -> None:
        g, rng = self.g, self.rng
        l2 = "fr" if lang == "fr" else "en"
        g.mixed_lang = l2
        title = {"en": "CONTRACT REMARKS - DEAL {DEAL} - STOCK {STOCK}\nSchedule A: terms agreed between the dealer and the purchaser\n",
                 "fr": "REMARQUES AU CONTRAT – TRANSACTION {DEAL} – STOCK {STOCK}\nAnnexe A : conditions convenues entre le commerçant et l'acheteur\n"}[l2]
        g.render(doc, title)
        clauses = list(CLAUSES[l2])
        items: list[str] = []
        for _ in range(rng.randrange(3, 5)):
            rng.shuffle(clauses)
            items += clauses
        items = items[: rng.randrange(34, 56)]
        if has_pii:
            pii = list(CLAUSES_PII[l2])
            rng.shuffle(pii)
            for t in pii[: rng.randrange(3, 7)]:
                items.insert(rng.randrange(len(items) + 1), t)
        if lang == "mixed":
            other = CLAUSES["fr"]
            for _ in range(6):
                items.insert(rng.randrange(len(items) + 1), rng.choice(other))
        for i, t in enumerate(items, 1):
            if lang == "mixed":
                self.set_mixed_lang(t)
            doc.lit(f"\n{i}. " if rng.random() < 0.8 else f"\n{i}) ", typo_ok=False)
            g.render(doc, t)
            if i % 12 == 0:
                doc.lit("\n\n" + ("--- page {} ---".format(i // 12 + 1)) + "\n", typo_ok=False)
        g.mixed_lang = l2
        g.render(doc, "\n\n" + ("Initialled by the purchaser on each page. Desk: {STAFF:mgr}  F&I: {STAFF:fi}  Date: {DATE}" if l2 == "en"
                                else "Paraphé par l'acheteur à chaque page. DC : {STAFF:mgr}  Ventes : {STAFF:sls}  Date : {DATE}"))

    def customer_email(self, doc: Doc, lang: str, size: str, has_pii: bool) -> None:
        g, rng = self.g, self.rng
        fr = lang == "fr" or (lang == "mixed" and rng.random() < 0.5)
        g.mixed_lang = "fr" if fr else "en"
        subj_en = ["RE: RO {RO}", "Stock {STOCK}", "Question about my payment", "Appointment {DATE}", "RE: Your quote", "FW: winter tires",
                   "Deal {DEAL} documents"]
        subj_fr = ["RE: BT {RO}", "Stock {STOCK}", "Question sur mon paiement", "Rendez-vous {DATE}", "TR: Soumission pneus",
                   "RE: votre estimé", "Documents transaction {DEAL}"]
        if has_pii:
            hdr = rng.choice([
                "From: {NAME} <{EMAIL:plain}>\nSent: {DATE} {TIME}\nTo: Service Department\nSubject: " if not fr else
                "De : {NAME} <{EMAIL:plain}>\nEnvoyé : {DATE} {TIME}\nÀ : Service à la clientèle\nObjet : ",
                "From: {EMAIL}\nDate: {DATE} {TIME}\nSubject: " if not fr else "De : {EMAIL}\nDate : {DATE} {TIME}\nObjet : ",
                "",
            ])
        else:
            hdr = rng.choice(["Subject: " if not fr else "Objet : ", ""])
        if hdr:
            g.render(doc, hdr)
            g.render(doc, rng.choice(subj_fr if fr else subj_en))
            doc.lit("\n\n", typo_ok=False)
        greet = rng.choice(["Bonjour,", "Bonjour à vous,", "Allo,", "Bonjour à l'équipe du service,"] if fr else
                           ["Hi,", "Hello,", "Good morning,", "Hi there,", "Hello service team,"])
        g.render(doc, greet)
        doc.lit("\n\n", typo_ok=False)
        body_en = [
            "I dropped off my {VEH} this morning (RO {RO}) and was told it would be ready by {TIME}.",
            "Can you send me the quote for the winter tires? The one you showed me was {AMT:m}.",
            "I'm interested in stock {STOCK}, is it still available?", "The payment on deal {DEAL} came out twice this month ({AMT:m}).",
            "My appointment is on {DATE} at {TIME}, can I move it to the following week?", "Attached are the pay stubs the bank asked for.",
            "The noise is back since the last visit ({DATE}), about {KM} on it now.", "Please cancel the extended warranty, I'm within the 30 days.",
            "The invoice {INV} shows {AMT:m} but I was quoted less.", "Is the recall {CAMP} done on my car or do I need to book?",
        ]
        body_fr = [
            "J'ai laissé mon {VEH} ce matin (BT {RO}) et on m'a dit qu'il serait prêt vers {TIME}.",
            "Pouvez-vous m'envoyer la soumission pour les pneus d'hiver? Celle que vous m'avez montrée était de {AMT:m}.",
            "Je suis intéressé par le stock {STOCK}, est-il encore disponible?", "Le paiement de la transaction {DEAL} a été prélevé deux fois ce mois-ci ({AMT:m}).",
            "Mon rendez-vous est le {DATE} à {TIME}, est-ce possible de le déplacer à la semaine suivante?", "Ci-joint les talons de paie demandés par la banque.",
            "Le bruit est revenu depuis la dernière visite ({DATE}), environ {KM} au compteur.", "Je veux annuler la garantie prolongée, je suis dans les 30 jours.",
            "La facture {INV} indique {AMT:m} mais on m'avait dit moins.", "Est-ce que le rappel {CAMP} est fait sur mon auto?",
        ]
        pii_en = [
            "You can reach me at {PHONE} after 5.", "My new address is {ADDR}, please update the file.",
            "My {CG:husband|wife} {CONAME} will pick it up.", "Plate is {PLATE} if you need it for the loaner paperwork.",
            "Here is my licence number: {DL}", "Please use {EMAIL} from now on, the old one is closed.",
            "Postal code is {PC} for the insurance quote.", "My cell changed, it's {PHONE} now.", "Call my work line {PHONE:ext} if urgent.",
            "For the credit application my SIN is {SIN} and my date of birth is {DOB}.",
        ]
        pii_fr = [
            "Vous pouvez me joindre au {PHONE} après 17h.", "Ma nouvelle adresse est {ADDR}, svp mettre à jour le dossier.",
            "{CG:Mon conjoint|Ma conjointe} {CONAME} va venir chercher l'auto.", "Ma plaque est {PLATE} si vous en avez besoin pour le prêt.",
            "Voici mon numéro de permis : {DL}", "Svp utilisez {EMAIL} dorénavant, l'ancienne adresse est fermée.",
            "Mon code postal est {PC} pour la soumission d'assurance.", "Mon cell a changé, c'est maintenant le {PHONE}.",
            "Au bureau : {PHONE:ext} si c'est urgent.", "Pour la demande de crédit, mon NAS est {SIN} et ma date de naissance le {DOB}.",
        ]
        if lang == "mixed":  # bilingual writers switch language from one sentence to the next
            body, pii = body_en + body_fr + MIXED_EMAIL_OPS, pii_en + pii_fr + MIXED_EMAIL_PII
        else:
            body, pii = (body_fr, pii_fr) if fr else (body_en, pii_en)
        n_ops, n_pii = self.counts(size if size != "one" else "short", has_pii)
        n_ops = max(n_ops, 1)
        seq = rng.sample(body, min(n_ops, len(body))) + rng.sample(pii, min(n_pii, len(pii)))
        rng.shuffle(seq)
        for i, t in enumerate(seq):
            if i:
                doc.lit(rng.choice([" ", " ", "\n\n"]), typo_ok=False)
            if lang == "mixed":
                self.set_mixed_lang(t)
            g.render(doc, t)
        g.mixed_lang = "fr" if fr else "en"
        doc.lit("\n\n", typo_ok=False)
        if has_pii:
            sig = rng.choice([
                "{R:Thanks|Thank you|Merci|Regards},\n{NAME}\n{PHONE}", "{R:Thanks|Cheers},\n{GIVEN}", "-- \n{NAME}\nCell: {PHONE}",
                "{R:Merci|Cordialement},\n{NAME}\n{ADDR:ml}\n{PHONE}", "{NAME}", "{R:Merci!|Merci beaucoup}\n{GIVEN} {SURNAME}",
                "Thanks,\n{NAME}\n{ADDR:ml}",
            ]) if not fr else rng.choice([
                "{R:Merci|Merci beaucoup|Cordialement},\n{NAME}\n{PHONE}", "Merci,\n{GIVEN}", "-- \n{NAME}\nCell : {PHONE}",
                "Cordialement,\n{NAME}\n{ADDR:ml}\n{PHONE}", "{NAME}", "Bonne journée!\n{GIVEN} {SURNAME}",
            ])
            g.render(doc, sig)
        else:
            doc.lit(rng.choice(["Thanks", "Merci", "Thank you"]) if not fr else rng.choice(["Merci", "Bonne journée"]), typo_ok=False)
        if rng.random() < 0.5:
            doc.lit("\n\n" + rng.choice(["Sent from my iPhone", "Sent from my Galaxy", "Get Outlook for Android", "Envoyé de mon iPhone",
                                         "Envoyé de mon appareil Samsung Galaxy", "Obtenir Outlook pour iOS"]), typo_ok=False)

    def crm_log(self, doc: Doc, lang: str, size: str, has_pii: bool) -> None:
        rng = self.rng
        if has_pii and rng.random() < 0.25:
            self.table(doc, lang)
            return
        if has_pii and rng.random() < 0.3:
            g = self.g
            fr = lang == "fr"
            g.mixed_lang = "fr" if fr else "en"
            g.render(doc, "Contact : {NAME}\nTél. : {PHONE:lb}\nCourriel : {EMAIL}\n" if fr else
                     rng.choice(["Contact: {NAME}\nPhone: {PHONE:lb}\nEmail: {EMAIL}\n", "Contact: {NAME:dms}\nCell: {PHONE:lb}\nE-mail: {EMAIL}\n"]))
            size = "short" if size == "one" else size
            has_pii_rest = rng.random() < 0.5
            o, p = self.pools(CRM_OPS, CRM_PII, lang)
            n_ops, n_pii = self.counts(size, has_pii_rest)
            self.sentences(doc, o, p, n_ops, n_pii, "\n")
            return
        o, p = self.pools(CRM_OPS, CRM_PII, lang)
        n_ops, n_pii = self.counts(size, has_pii)
        self.sentences(doc, o, p, n_ops, n_pii, "\n")

    def table(self, doc: Doc, lang: str) -> None:
        """A call list pasted from a spreadsheet: one customer per row."""
        g, rng = self.g, self.rng
        fr = lang == "fr"
        g.mixed_lang = "fr" if fr else "en"
        style = rng.choice(["pipe", "tab", "spaces"])
        cols = (["Nom", "Téléphone", "Courriel", "Stock", "RDV"] if fr else ["Name", "Phone", "Email", "Stock", "Appt"])
        sep = {"pipe": " | ", "tab": "\t", "spaces": "   "}[style]
        doc.lit((("BDC – liste d'appels " if fr else "BDC call list ") if rng.random() < 0.5 else ""), typo_ok=False)
        g.render(doc, "{DATE}\n")
        doc.lit(sep.join(cols) + "\n", typo_ok=False)
        if style == "pipe":
            doc.lit("|".join("---" for _ in cols) + "\n", typo_ok=False)
        keep_p = g.p
        for _ in range(rng.randrange(3, 8)):
            g.p = Persona(g, lang)
            g.render(doc, sep.join(["{NAME:dms}" if rng.random() < 0.6 else "{NAME}", "{PHONE}", "{EMAIL}", "{STOCK}", "{DATE} {TIME}"]) + "\n")
        g.p = keep_p

    def web_form(self, doc: Doc, lang: str, size: str, has_pii: bool) -> None:
        g, rng = self.g, self.rng
        fr = lang == "fr" or (lang == "mixed" and rng.random() < 0.5)
        g.mixed_lang = "fr" if fr else "en"
        credit = has_pii and rng.random() < 0.4
        if fr:
            head, src = rng.choice([("*** Nouvelle demande web ***", "{R:site web|Kijiji Autos|AutoHebdo|Facebook Marketplace}"),
                                    ("Nouvelle demande – site du concessionnaire", "site web"), ("Demande de pré-approbation en ligne", "site web – crédit"),
                                    ("Lead Kijiji Autos", "Kijiji Autos")])
            fields = [("Source", src), ("Prénom", "{GIVEN}"), ("Nom", "{SURNAME}"),
                      ("Courriel", "{EMAIL}"), ("Téléphone", "{PHONE}"), ("Code postal", "{PC}"), ("Véhicule d'intérêt", "{VEH} stock {STOCK}"),
                      ("Moyen de contact préféré", "{R:Téléphone|Courriel|Texto}"), ("Commentaires", "{R:Est-ce que le véhicule est encore disponible?|Je voudrais faire un essai routier samedi.|Quel est votre meilleur prix?|J'ai un échange à évaluer.}"),
                      ("Soumis le", "{DATE} {TIME}"), ("No de demande", "{LEAD}")]
            if credit:
                fields[6:6] = [("Adresse", "{STREET}"), ("Ville", "{CITY}"), ("Date de naissance", "{DOB}"), ("NAS (facultatif)", "{SIN}"),
                               ("No de permis de conduire", "{DL}"), ("Revenu mensuel", "{AMT:m}")]
        else:
            head, src = rng.choice([("*** New Internet Lead ***", "{R:dealer website|AutoTrader.ca|CarGurus|Facebook Marketplace}"),
                                    ("New lead from dealer website - Book a test drive", "dealer website"), ("Online credit pre-approval", "dealer website - finance"),
                                    ("CarGurus lead", "CarGurus"), ("AutoTrader.ca lead", "AutoTrader.ca")])
            fields = [("Source", src), ("First Name", "{GIVEN}"), ("Last Name", "{SURNAME}"),
                      ("Email", "{EMAIL}"), ("Phone", "{PHONE}"), ("Postal Code", "{PC}"), ("Vehicle", "{VEH} Stock# {STOCK}"),
                      ("Preferred contact", "{R:Phone|Email|Text}"), ("Comments", "{R:Is this still available?|Can I test drive Saturday?|What's your best out-the-door price?|I have a trade to appraise.}"),
                      ("Submitted", "{DATE} {TIME}"), ("Lead ID", "{LEAD}")]
            if credit:
                fields[6:6] = [("Street Address", "{STREET}"), ("City", "{CITY}"), ("Date of Birth", "{DOB}"), ("SIN (optional)", "{SIN}"),
                               ("Driver's Licence #", "{DL}"), ("Monthly income", "{AMT:m}")]
        if not has_pii:
            fields = [f for f in fields if not re.search(r"\{(GIVEN|SURNAME|EMAIL|PHONE|PC|STREET|DOB|SIN|DL)\b", f[1])]
        else:
            # Some forms have one "Name" field instead of first/last; some wrap the phone onto the next line.
            if rng.random() < 0.35:
                fields = [f for f in fields if f[1] not in ("{SURNAME}",)]
                fields = [(("Nom" if fr else "Name") if f[1] == "{GIVEN}" else f[0], "{NAME}" if f[1] == "{GIVEN}" else f[1]) for f in fields]
            if rng.random() < 0.3:
                fields = [(k, "{PHONE:lb}" if v == "{PHONE}" else v) for k, v in fields]
            fields = [f for f in fields if f[1] not in ("{PC}",) or rng.random() < 0.8]
        colon = " : " if fr else rng.choice([": ", ":\t", ": "])
        doc.lit(head + "\n", typo_ok=False)
        for k, v in fields:
            doc.lit(k + colon, typo_ok=False)
            g.render(doc, v)
            doc.lit("\n", typo_ok=False)
        if size in ("medium", "long"):
            o, p = self.pools(BDC_OPS, BDC_PII, "fr" if fr else "en")
            doc.lit("\n" + ("Suivi :" if fr else "Follow-up:") + "\n", typo_ok=False)
            self.sentences(doc, o, p if has_pii else [], self.rng.randrange(1, 3), 1 if has_pii else 0, "\n")

    def warranty_claim(self, doc: Doc, lang: str, size: str, has_pii: bool) -> None:
        o, p = self.pools(WARRANTY_OPS, WARRANTY_PII, lang)
        rng = self.rng
        n_ops = {"one": 2, "short": 4, "medium": 7, "long": 11}[size]
        n_pii = 0 if not has_pii else rng.randrange(1, 3)
        seq = o[:1] + rng.sample(o[1:], min(n_ops, len(o) - 1))
        seq += rng.sample(p, min(n_pii, len(p)))
        head, rest = seq[0], seq[1:]
        rng.shuffle(rest)
        self.set_mixed_lang(head)
        self.g.render(doc, head)
        for t in rest:
            doc.lit("\n", typo_ok=False)
            self.set_mixed_lang(t)
            self.g.render(doc, t)

    def trade_appraisal(self, doc: Doc, lang: str, size: str, has_pii: bool) -> None:
        hdr = self.rng.choice([None, "APPRAISAL - deal {DEAL}", "Trade-in appraisal {DATE}", "Évaluation d'échange – {DATE}"])
        if hdr and ((lang == "fr") != hdr.startswith("É")):
            hdr = None
        self.generic(doc, APPRAISAL_OPS, APPRAISAL_PII, lang, size, has_pii, hdr)

    def bdc_call(self, doc: Doc, lang: str, size: str, has_pii: bool) -> None:
        self.generic(doc, BDC_OPS, BDC_PII, lang, size, has_pii, None)


# ----------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+\s?@\s?[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")
POSTAL_RE = re.compile(r"(?<![A-Za-z0-9])[ABCEGHJ-NPRSTVXY]\d[A-Z][ \-]?\d[A-Z]\d(?![A-Za-z0-9])", re.IGNORECASE)
DIGITS_RE = re.compile(r"\d(?:[ .\-/]{0,3}\n?[ ]?\d)*")


class LabelError(Exception):
    pass


def check_record(rec: dict, values: dict) -> None:
    text = rec["text"]
    raw = text.encode("utf-8")
    spans = []
    for kind in ("pii", "keep"):
        for i, s in enumerate(rec[kind]):
            a, b = s["byte_start"], s["byte_end"]
            if not 0 <= a < b <= len(raw):
                raise LabelError(f"{rec['id']}: bad bounds {s}")
            try:
                v = raw[a:b].decode("utf-8")  # strict: fails off a char boundary
            except UnicodeDecodeError as e:
                raise LabelError(f"{rec['id']}: span off char boundary {s}") from e
            if v != values[kind][i]:
                raise LabelError(f"{rec['id']}: span {s} holds {v!r}, inserted {values[kind][i]!r}")
            if v != v.strip():
                raise LabelError(f"{rec['id']}: span {s} has outer whitespace {v!r}")
            spans.append((a, b, kind, s["type"], v))
    spans.sort()
    for x, y in zip(spans, spans[1:]):
        if y[0] < x[1]:
            raise LabelError(f"{rec['id']}: overlapping spans {x} {y}")
    # Type-specific facts.
    for a, b, kind, typ, v in spans:
        d = only_digits(v)
        if typ == "SIN" and not (len(d) == 9 and luhn_ok(d) and d[0] not in "08"):
            raise LabelError(f"{rec['id']}: SIN {v!r} not a valid SIN")
        if typ == "NUM9" and not (len(d) == 9 and not luhn_ok(d)):
            raise LabelError(f"{rec['id']}: NUM9 {v!r} passes Luhn")
        if typ == "PHONE":
            core = d[1:11] if d.startswith("1") and (v.startswith("1") or v.startswith("+1")) else d[:10]
            if not valid_nanp(core):
                raise LabelError(f"{rec['id']}: phone {v!r} not NANP")
        if kind == "keep" and typ not in ("BN", "QST", "NEQ", "VIN"):
            if (len(d) == 10 and valid_nanp(d)) or (len(d) == 9 and luhn_ok(d) and d[0] not in "08") or len(d) > 10:
                raise LabelError(f"{rec['id']}: keep {typ} {v!r} reads like a phone or SIN")
        if typ == "VIN" and len(v) != 17:
            raise LabelError(f"{rec['id']}: VIN {v!r}")
    # Audit the unlabelled gaps: nothing shaped like an e-mail, a postal code or 9+ digits.
    cuts = [0]
    for a, b, *_ in spans:
        cuts += [a, b]
    cuts.append(len(raw))
    for a, b in zip(cuts[::2], cuts[1::2]):
        gap = raw[a:b].decode("utf-8")
        for rx, what in ((EMAIL_RE, "e-mail"), (POSTAL_RE, "postal code")):
            m = rx.search(gap)
            if m:
                raise LabelError(f"{rec['id']}: unlabelled {what} {m.group(0)!r}")
        for m in DIGITS_RE.finditer(gap):
            if len(only_digits(m.group(0))) >= 9:
                raise LabelError(f"{rec['id']}: unlabelled digit run {m.group(0)!r}")


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def plan(rng: random.Random) -> list[tuple[str, str, bool, str]]:
    specs = []
    for kind in KINDS:
        n = KIND_COUNTS[kind]
        for i in range(n):
            r = rng.random()
            lang = "en" if r < 0.46 else ("fr" if r < 0.88 else "mixed")
            has_pii = rng.random() >= NO_PII_SHARE[kind]
            if kind == "contract_remark" and i < 26:
                size = "long"
            else:
                r = rng.random()
                size = "one" if r < 0.15 else ("short" if r < 0.55 else ("medium" if r < 0.9 else "long"))
            specs.append((kind, lang, has_pii, size))
    rng.shuffle(specs)
    return specs


def build(seed: int) -> list[dict]:
    global FORM_STATS
    total: dict[str, Counter] = defaultdict(Counter)  # form tallies of accepted texts only
    g = Gen(seed)
    comp = Composer(g)
    specs = plan(random.Random(seed + 1))
    out = []
    for idx, (kind, lang, has_pii, size) in enumerate(specs):
        for attempt in range(50):
            FORM_STATS = defaultdict(Counter)
            g.ctx_lang = lang
            g.mixed_lang = "en" if lang != "fr" else "fr"
            g.informal = kind in ("service_note", "crm_log", "bdc_call", "trade_appraisal") or lang == "mixed"
            g.p = Persona(g, lang)
            g.co = None
            caps = kind in ("contract_remark", "fi_note", "service_note", "warranty_claim") and g.rng.random() < 0.18 and size != "long"
            typos = 0.04 if g.informal and not caps else 0.0
            crlf = kind in ("web_form", "customer_email", "crm_log", "fi_note") and g.rng.random() < 0.1
            doc = Doc(g.rng, caps=caps, typos=typos, crlf=crlf)
            getattr(comp, kind)(doc, lang, size, has_pii)
            if has_pii and not doc.pii:
                continue  # a PII text must hold PII: draw again
            rec = {
                "id": f"v2-{idx + 1:04d}",
                "lang": lang,
                "kind": kind,
                "text": doc.text(),
                "pii": [{"byte_start": a, "byte_end": b, "type": t} for a, b, t, _ in doc.pii],
                "keep": [{"byte_start": a, "byte_end": b, "type": t} for a, b, t, _ in doc.keep],
            }
            values = {"pii": [v for *_, v in doc.pii], "keep": [v for *_, v in doc.keep]}
            try:
                check_record(rec, values)
            except LabelError as e:
                if attempt == 49:
                    raise
                if os.environ.get("GEN_V2_DEBUG"):
                    print("redraw:", e, file=sys.stderr)
                continue
            if caps:
                FORM_STATS["_text"]["all_caps"] += 1
            if crlf:
                FORM_STATS["_text"]["crlf_line_breaks"] += 1
            if typos:
                FORM_STATS["_text"]["informal_with_typos"] += 1
            FORM_STATS["_text"][f"size_{size}"] += 1
            for k, v in FORM_STATS.items():
                total[k].update(v)
            out.append(rec)
            break
    FORM_STATS = total
    return out


def split(records: list[dict]) -> tuple[list[dict], list[dict]]:
    strata: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        strata[(r["kind"], r["lang"], bool(r["pii"]))].append(r)
    tune, test = [], []
    for key in sorted(strata):
        rs = sorted(strata[key], key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
        k = round(len(rs) * TUNE_PERCENT / 100)
        tune += rs[:k]
        test += rs[k:]
    tune.sort(key=lambda r: r["id"])
    test.sort(key=lambda r: r["id"])
    return tune, test


TITLE_RE = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Miss|Dr|Dre|M|Mme|Mlle|Monsieur|Madame)\.?) $", re.IGNORECASE)
ROLE_RE = re.compile(r"(?:\b(?:buyer|co-buyer|acheteur|co-acheteur|co-acheteuse|acheteuse|client|cliente|cust|customer|name|nom|contact|"
                     r"spouse|conjoint|conjointe|owner|propriétaire|référence|reference|purchaser|co-purchaser|co-applicant|"
                     r"co-demandeur|co-demanderesse|wife|husband)\b\s?[:\-]?\s*)$", re.IGNORECASE)
PLATE_CUES = [("plate on it is", "weak"), ("plates are", "weak"), ("customer vehicle", "weak"), ("cust vehicle", "weak"),
              ("véhicule du client", "weak"), ("plaque du véhicule du client", "strong"), ("immatriculation", "strong"),
              ("plaque", "strong"), ("plate", "strong"), ("trade", "weak"), ("échange", "weak"), ("auto", "weak"), ("lic", "weak")]


def issue_classes(recs: list[dict]) -> Counter:
    """How often the classes of text named in issue 22 occur (for the README)."""
    c: Counter = Counter()
    for r in recs:
        raw = r["text"].encode()
        for s in r["pii"]:
            v = raw[s["byte_start"]:s["byte_end"]].decode()
            before = raw[max(0, s["byte_start"] - 40):s["byte_start"]].decode(errors="ignore")
            t = s["type"]
            if "\n" in v and t in ("SIN", "PHONE", "DRIVERS_LICENCE"):
                c[f"{t}: broken across a line break"] += 1
            if t in ("SIN", "PHONE"):
                if re.search(r"\d \- \d", v):
                    c[f"{t}: spaced hyphens"] += 1
                if re.search(r"\d\.\d", v):
                    c[f"{t}: dots"] += 1
                if re.search(r"\d/\d", v):
                    c[f"{t}: slashes"] += 1
            if t == "PHONE" and re.fullmatch(r"\d{10}", v):
                c["PHONE: bare ten-digit run"] += 1
                if not re.search(r"(?i)(cell|tel|tél|phone|ph|call|rappeler|appel|texto|text|number|numéro|cellulaire|home|rés|bureau)\W*$", before):
                    c["PHONE: bare ten-digit run, no phone word before it"] += 1
            if t == "PHONE" and re.search(r"(ext|x|poste|p\.|#)\s?\d+$", v):
                c["PHONE: with an extension"] += 1
            if t == "NAME":
                if re.fullmatch(r"[^\s,]+,[^\s,].*", v) and v == v.upper():
                    c["NAME: SURNAME,GIVEN in capitals, no space"] += 1
                if TITLE_RE.search(before):
                    c["NAME: after a title"] += 1
                elif ROLE_RE.search(before):
                    c["NAME: after a role word"] += 1
                if re.search(r"\w-\w", v):
                    c["NAME: hyphenated part"] += 1
                if re.search(r"[À-ÿ]", v):
                    c["NAME: accented"] += 1
                if re.search(r"\b(de|de la|du|des|van|van der|da|dos|di|le|St|Ste|Saint|O'|Mc|Mac|D')", v, re.IGNORECASE):
                    c["NAME: particle (de, St-, O', Mc, D' ...)"] += 1
            if t == "ADDRESS":
                if "\n" in v:
                    c["ADDRESS: over two lines"] += 1
                if re.match(r"\d+[A-Z]?-\d", v) or re.match(r"#\d", v):
                    c["ADDRESS: unit-civic form (963-2265, #304-)"] += 1
                if re.search(r"(?i)\b(app|apt|unit|suite|bureau|log)\b\.?\s", v):
                    c["ADDRESS: apartment / unit / suite word"] += 1
                if re.search(r"[A-Z]\d[A-Z] ?\d[A-Z]\d", v, re.IGNORECASE):
                    c["ADDRESS: through the postal code"] += 1
                if re.search(r"(?i)(po box|c\.p\.|case postale|\brr\b|r\.r\.|rang|route|concession|range road|township)", v):
                    c["ADDRESS: rural route / PO box / rang"] += 1
            if t == "PLATE":
                low = before.lower()
                best = None
                for cue, strength in PLATE_CUES:
                    i = low.rfind(cue)
                    if i >= 0 and (best is None or i > best[0]):
                        best = (i, cue, strength)
                c[f"PLATE: after a {best[2]} cue" if best else "PLATE: cue further away"] += 1
    return c


def counts(recs: list[dict]) -> tuple[Counter, Counter, Counter]:
    pc, kc, meta = Counter(), Counter(), Counter()
    for r in recs:
        meta["texts"] += 1
        meta[f"lang:{r['lang']}"] += 1
        meta[f"kind:{r['kind']}"] += 1
        if not r["pii"]:
            meta["no_pii_texts"] += 1
        meta["bytes"] += len(r["text"].encode())
        for s in r["pii"]:
            pc[s["type"]] += 1
        for s in r["keep"]:
            kc[s["type"]] += 1
    return pc, kc, meta


def readme_block(records: list[dict], tune: list[dict], test: list[dict]) -> str:
    """The counts section of README.md, so that the README always states the files' real counts."""
    t_pc, t_kc, t_meta = counts(tune)
    s_pc, s_kc, s_meta = counts(test)
    a_pc, a_kc, a_meta = counts(records)
    ct, cs = issue_classes(tune), issue_classes(test)
    lens = sorted(len(r["text"].encode()) for r in records)
    txt = FORM_STATS["_text"]
    def row(label: str, f) -> str:
        return f"| {label} | {f(t_meta)} | {f(s_meta)} | {f(a_meta)} |"
    out = ["| | tune | test | all |", "|---|---|---|---|",
           row("texts", lambda m: m["texts"]),
           row("English / French / mixed", lambda m: f"{m['lang:en']} / {m['lang:fr']} / {m['lang:mixed']}"),
           row("texts with no PII", lambda m: f"{m['no_pii_texts']} ({100 * m['no_pii_texts'] / m['texts']:.1f}%)"),
           row("bytes of text", lambda m: m["bytes"])]
    for k in KINDS:
        out.append(row(f"kind `{k}`", lambda m, k=k: m[f"kind:{k}"]))
    out += ["", f"Texts: {txt['size_one']} one-liners, {txt['size_short']} short, {txt['size_medium']} medium, {txt['size_long']} long "
            f"(median {lens[len(lens) // 2]} bytes, longest {lens[-1]}, {sum(x > 5000 for x in lens)} over 5 000 bytes); "
            f"{txt['all_caps']} in all caps, {txt['crlf_line_breaks']} with CRLF line breaks, {txt['informal_with_typos']} informal "
            "notes with occasional typos.", "", "| PII type | tune | test | all |", "|---|---|---|---|"]
    out += [f"| {t} | {t_pc[t]} | {s_pc[t]} | {a_pc[t]} |" for t in PII_TYPES]
    out += ["", "| keep type | tune | test | all |", "|---|---|---|---|"]
    out += [f"| {t} | {t_kc[t]} | {s_kc[t]} | {a_kc[t]} |" for t in KEEP_TYPES]
    out += ["", "The classes of text named in issue 22, counted on the written files:", "",
            "| class | tune | test |", "|---|---|---|"]
    out += [f"| {k} | {ct[k]} | {cs[k]} |" for k in sorted(set(ct) | set(cs))]
    return "\n".join(out) + "\n"


def update_readme(block: str) -> None:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    a, b = "<!-- counts:start (written by gen_v2.py --readme) -->\n", "<!-- counts:end -->"
    i, j = text.index(a) + len(a), text.index(b)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text[:i] + block + text[j:])


def reread(out: str) -> None:
    """Read the written files back as a consumer would and check the line format and every offset."""
    ids = set()
    for name in ("tune.jsonl", "test.jsonl"):
        with open(os.path.join(out, name), "rb") as f:
            for n, line in enumerate(f, 1):
                rec = json.loads(line.decode("utf-8"))
                where = f"{name}:{n}"
                if set(rec) != {"id", "lang", "kind", "text", "pii", "keep"}:
                    raise LabelError(f"{where}: keys {sorted(rec)}")
                if rec["id"] in ids or rec["lang"] not in ("en", "fr", "mixed") or rec["kind"] not in KINDS:
                    raise LabelError(f"{where}: id/lang/kind {rec['id']} {rec['lang']} {rec['kind']}")
                ids.add(rec["id"])
                raw = rec["text"].encode("utf-8")
                for kind, types in (("pii", PII_TYPES), ("keep", KEEP_TYPES)):
                    for sp in rec[kind]:
                        if set(sp) != {"byte_start", "byte_end", "type"} or sp["type"] not in types:
                            raise LabelError(f"{where}: span {sp}")
                        raw[sp["byte_start"]:sp["byte_end"]].decode("utf-8")  # strict: raises off a char boundary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--forms", action="store_true", help="also print the surface-form tallies")
    ap.add_argument("--readme", action="store_true", help="rewrite the counts section of README.md beside this script")
    args = ap.parse_args()
    records = build(SEED)
    tune, test = split(records)
    for name, recs in (("tune", tune), ("test", test)):
        pc, kc, _ = counts(recs)
        missing = [t for t in PII_TYPES if not pc[t]] + [t for t in KEEP_TYPES if not kc[t]]
        if missing:
            print(f"{name}: no spans of {missing}", file=sys.stderr)
            return 1
    os.makedirs(args.out, exist_ok=True)
    for name, recs in (("tune", tune), ("test", test)):
        with open(os.path.join(args.out, f"{name}.jsonl"), "w", encoding="utf-8", newline="\n") as f:
            for r in recs:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    reread(args.out)
    if args.readme:
        update_readme(readme_block(records, tune, test))
    all_pc, all_kc, all_meta = counts(records)
    t_pc, t_kc, t_meta = counts(tune)
    s_pc, s_kc, s_meta = counts(test)
    print(f"texts: {len(records)} (tune {len(tune)}, test {len(test)}); no-PII texts {all_meta['no_pii_texts']} "
          f"({100 * all_meta['no_pii_texts'] / len(records):.1f}%); {all_meta['bytes']} bytes")
    print("languages: " + ", ".join(f"{k[5:]} {v}" for k, v in sorted(all_meta.items()) if k.startswith("lang:")))
    print("kinds: " + ", ".join(f"{k[5:]} {v}" for k, v in sorted(all_meta.items()) if k.startswith("kind:")))
    print("\n| PII type | tune | test | all |\n|---|---|---|---|")
    for t in PII_TYPES:
        print(f"| {t} | {t_pc[t]} | {s_pc[t]} | {all_pc[t]} |")
    print("\n| keep type | tune | test | all |\n|---|---|---|---|")
    for t in KEEP_TYPES:
        print(f"| {t} | {t_kc[t]} | {s_kc[t]} | {all_kc[t]} |")
    if args.forms:
        ct, cs = issue_classes(tune), issue_classes(test)
        print("\n| class named in issue 22 | tune | test |\n|---|---|---|")
        for k in sorted(set(ct) | set(cs)):
            print(f"| {k} | {ct[k]} | {cs[k]} |")
        print()
        for typ in sorted(FORM_STATS):
            print(f"{typ}: " + ", ".join(f"{k} {v}" for k, v in sorted(FORM_STATS[typ].items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
