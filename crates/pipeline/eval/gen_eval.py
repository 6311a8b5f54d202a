#!/usr/bin/env python3
"""Generates the redactor evaluation set (synthetic Canadian EN/FR dealership text).

Writes redact_eval.jsonl (templated, seeded, deterministic) and hard_cases.jsonl (the
hand-written cases at the bottom of this file). Every line:
  {"id", "lang", "text", "pii": [{"byte_start", "byte_end", "type"}], "keep": [...]}
with UTF-8 byte offsets. Templates use markup: {P:TYPE:value} is a PII span,
{K:TYPE:value} a span that must survive verbatim, {X:name} a random value from a pool.

All names, numbers and addresses are invented. The set was written by the author of the
detector, so results on it are optimistic.

Run: python3 gen_eval.py   (from this directory)
"""
import json
import random
import re

rng = random.Random(20261123)

# Name pools. GAZ_* overlap the detector's gazetteer; OTHER_* were chosen NOT to be in it,
# so bare names from them test the cue and capitalisation rules rather than the lists.
GAZ_GIVEN = ["Jean-François", "Marie-Ève", "Sylvain", "Nathalie", "Geneviève", "Kevin", "Jennifer", "Harpreet", "Mathieu", "Brittany",
             "Réjean", "Chloé", "Trevor", "Melissa", "Guillaume", "Océane", "Derek", "Isabelle", "Gurpreet", "Stéphane"]
GAZ_SUR = ["Tremblay", "Gagnon", "Côté", "Bouchard", "Pelletier", "Lévesque", "MacDonald", "Sandhu", "Thériault", "O'Brien",
           "Robitaille", "Fortin", "Dhillon", "Henderson", "St-Pierre", "Boudreau", "Ferguson", "Charbonneau"]
OTHER_GIVEN = ["Zbigniew", "Oluwaseun", "Thibodeau", "Anneliese", "Ximena", "Bartholomew", "Eleanora", "Kwame", "Soraya", "Lysandre",
               "Maëlle", "Thiago", "Aurélien", "Ingrid", "Yusuf", "Delphine", "Caius", "Fenella"]
OTHER_SUR = ["Okonkwo", "Vuković", "Brassard-Nolet", "Quintal", "Achterberg", "Maheux", "Szymanski", "Papadopoulos", "Rinfret",
             "Beauséjour", "Kowalczyk", "Nakamura", "Delacroix-Roy", "Haddad", "Vaillancourt", "Lindqvist"]

EN_STREETS = ["Main St", "Queen St W", "Bloor Street", "Maple Ave", "Oak Ridge Dr", "Sherbrooke Rd", "King George Blvd", "Elm Cres",
              "Riverside Drive", "Heritage Crt", "Lakeshore Rd E", "Wellington St", "St. Clair Ave", "Pine Grove Lane", "10th Ave"]
FR_STREETS = ["rue Saint-Denis", "boulevard René-Lévesque", "rue des Érables", "chemin du Lac", "avenue du Parc", "boul. Taschereau",
              "rue Principale", "rang Saint-Joseph", "montée Masson", "rue de la Montagne", "avenue Papineau", "rue Notre-Dame Est"]
UNITS_EN = ["", "", "", ", apt 4", ", suite 210", " unit 12", ", #3"]
UNITS_FR = ["", "", "", ", app. 4", ", bureau 200", " app 12", ", #7"]
POSTAL_FIRST = "ABCEGHJKLMNPRSTVXY"
POSTAL_OTHER = "ABCEGHJKLMNPRSTVWXYZ"
AREAS = ["514", "438", "450", "418", "819", "613", "416", "647", "905", "604", "403", "780", "902", "506", "204", "306", "709"]
EMAIL_DOMAINS = ["gmail.com", "videotron.ca", "hotmail.com", "rogers.com", "bell.net", "sympatico.ca", "outlook.com", "shaw.ca",
                 "yahoo.ca", "telus.net"]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def luhn_ok(d):
    s = 0
    for k, c in enumerate(d):
        v = int(c)
        if k % 2 == 1:
            v *= 2
            if v > 9:
                v -= 9
        s += v
    return s % 10 == 0


def sin_digits():
    while True:
        d = str(rng.choice("1234567 9".replace(" ", ""))) + "".join(rng.choice("0123456789") for _ in range(8))
        if luhn_ok(d):
            return d


def sin():
    d = sin_digits()
    return rng.choice([f"{d[:3]} {d[3:6]} {d[6:]}", f"{d[:3]}-{d[3:6]}-{d[6:]}", d])


def num9_fail():
    while True:
        d = "".join(rng.choice("0123456789") for _ in range(9))
        if not luhn_ok(d):
            return d


def phone():
    a = rng.choice(AREAS)
    e = str(rng.randint(200, 999))
    n = f"{rng.randint(0, 9999):04d}"
    f = rng.choice([f"({a}) {e}-{n}", f"{a}-{e}-{n}", f"{a}.{e}.{n}", f"{a} {e} {n}", f"+1 {a} {e} {n}", f"1-{a}-{e}-{n}",
                    f"+1-{a}-{e}-{n}", f"({a}){e}-{n}"])
    ext = rng.choice(["", "", "", "", f" ext. {rng.randint(1, 999)}", f" x{rng.randint(10, 9999)}", f" poste {rng.randint(1, 9999)}",
                      f" ext {rng.randint(1, 99)}"])
    return f + ext


def person(kind=None):
    kind = kind or rng.choice(["gaz", "gaz", "mixed", "other"])
    if kind == "gaz":
        return f"{rng.choice(GAZ_GIVEN)} {rng.choice(GAZ_SUR)}"
    if kind == "mixed":
        return f"{rng.choice(GAZ_GIVEN)} {rng.choice(OTHER_SUR)}"
    return f"{rng.choice(OTHER_GIVEN)} {rng.choice(OTHER_SUR)}"


def surname():
    return rng.choice(GAZ_SUR + OTHER_SUR)


def ascii_fold(s):
    table = str.maketrans("éèêëàâäîïôöûüçÉÈÀÔÇ", "eeeeaaaiioouucEEAOC")
    return s.translate(table)


def email():
    g = ascii_fold(rng.choice(GAZ_GIVEN + OTHER_GIVEN)).lower().replace("-", "")
    s = ascii_fold(rng.choice(GAZ_SUR + OTHER_SUR)).lower().replace("'", "").replace("-", "")
    local = rng.choice([f"{g}.{s}", f"{g[0]}{s}{rng.randint(1, 99)}", f"{g}_{s}", f"{s}.{g}", f"{g}+auto"])
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def plate():
    L = lambda n: "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXYZ") for _ in range(n))
    D = lambda n: "".join(rng.choice("0123456789") for _ in range(n))
    return rng.choice([f"{L(4)} {D(3)}", f"{L(3)}-{D(4)}", f"{D(3)} {L(3)}", f"{L(1)}{D(2)} {L(3)}", f"{L(3)}{D(3)}", f"{L(2)}{D(1)} {D(2)}{L(1)}",
                       f"{L(3)} {D(4)}"])


EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
FR_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]


def date(lang, year_range=(2023, 2026)):
    y = rng.randint(*year_range)
    m = rng.randint(1, 12)
    d = rng.randint(1, 28)
    if lang == "fr":
        return rng.choice([f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{d} {FR_MONTHS[m - 1]} {y}", f"1er {FR_MONTHS[m - 1]} {y}"])
    return rng.choice([f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}", f"{EN_MONTHS[m - 1]} {d}, {y}", f"{EN_MONTHS[m - 1][:3]} {d}, {y}",
                       f"{d} {EN_MONTHS[m - 1]} {y}"])


def dob(lang):
    return date(lang, (1941, 2005))


def licence():
    L = rng.choice("ABCDEFGHJKLMNPRSTVWXYZ")
    D = lambda n: "".join(rng.choice("0123456789") for _ in range(n))
    return rng.choice([f"{L}{D(4)}-{D(5)}-{D(5)}", f"{L}{D(4)}-{D(6)}-{D(2)}"])


def licence_ctx():
    D = lambda n: "".join(rng.choice("0123456789") for _ in range(n))
    return rng.choice([licence(), D(7), f"{D(6)}-{D(3)}", f"{rng.choice('ABCDEFGHJKLMNPRSTVWXYZ')}{D(8)}"])


def address(lang):
    c = str(rng.randint(1, 99999))
    if rng.random() < 0.15:
        c = f"{rng.randint(1, 40)}-{c}"
    if lang == "fr":
        return f"{c}{rng.choice(['', ','])} {rng.choice(FR_STREETS)}{rng.choice(UNITS_FR)}"
    return f"{c} {rng.choice(EN_STREETS)}{rng.choice(UNITS_EN)}"


def postal():
    return (f"{rng.choice(POSTAL_FIRST)}{rng.randint(0, 9)}{rng.choice(POSTAL_OTHER)}"
            f"{rng.choice([' ', ' ', ''])}{rng.randint(0, 9)}{rng.choice(POSTAL_OTHER)}{rng.randint(0, 9)}")


def vin():
    while True:
        v = "".join(rng.choice(VIN_CHARS) for _ in range(17))
        if any(c.isdigit() for c in v) and any(c.isalpha() for c in v):
            return v


def amount(lang):
    x = rng.randint(5, 89999) + rng.choice([0, 0.5, 0.99, 0.25])
    if lang == "fr":
        s = f"{x:,.2f}".replace(",", " ").replace(".", ",")
        return rng.choice([f"{s} $", f"{s}$"])
    return rng.choice([f"${x:,.2f}", f"${int(x):,}"])


def stock():
    return rng.choice([f"U{rng.randint(10000, 99999)}", f"{rng.randint(20, 26)}-{rng.randint(1000, 9999)}", f"N{rng.randint(1000, 9999)}A",
                       str(rng.randint(100000, 999999))])


def deal():
    return rng.choice([str(rng.randint(10000, 999999999)), f"D-{rng.randint(100000, 999999)}"])


def ro():
    return str(rng.randint(100000, 999999))


def personnel():
    return rng.choice([f"SA-{rng.randint(1, 9999):04d}", f"FI-{rng.randint(1, 999):03d}", f"TECH-{rng.randint(10, 999)}",
                       f"T{rng.randint(100, 999)}", f"SM-{rng.randint(10, 99)}", f"EMP{rng.randint(1000, 9999)}"])


def bn():
    d = "".join(rng.choice("0123456789") for _ in range(9))
    return rng.choice([f"{d}RT0001", f"{d} RT0001", f"{d}RC0001", f"{d} RP0002"])


def P(t, v):
    return "{P:" + t + ":" + v + "}"


def K(t, v):
    return "{K:" + t + ":" + v + "}"


# Each template returns markup text. en and fr, across service notes, F&I notes, warranty claims, emails.
FR_PLATE_CTX = ["Plaque d'immatriculation", "Plaque", "Immatriculation :", "plaque no"]
EN_DL_CTX = ["driver's licence", "DL", "licence no.", "driver's license #"]


def t_service_en():
    return (f"RO {K('RO', ro())} - {rng.choice(['Customer', 'Client', 'Cust'])} {P('NAME', person())} states check engine light on. "
            f"VIN {K('VIN', vin())}. Advisor {K('PERSONNEL', personnel())}. Called back at {P('PHONE', phone())}, "
            f"quoted {K('AMOUNT', amount('en'))} for O2 sensor, approved {K('DATE', date('en'))}.")


def t_service_fr():
    return (f"Bon de travail {K('RO', ro())} : {rng.choice(['M.', 'Mme', 'Client', 'Cliente'])} {P('NAME', person())} signale un bruit au freinage. "
            f"NIV {K('VIN', vin())}, conseiller {K('PERSONNEL', personnel())}. Rappeler au {P('PHONE', phone())}. "
            f"Estimé {K('AMOUNT', amount('fr'))}, rendez-vous le {K('DATE', date('fr'))}.")


def t_fi_en():
    sinlabel = rng.choice(["SIN", "SIN:", "social insurance number", "SIN #", "S.I.N."])
    return (f"F&I note, deal {K('DEAL', deal())}, stock {K('STOCK', stock())}: buyer {P('NAME', person())}, "
            f"{sinlabel} {P('SIN', sin())}, DOB {P('DOB', dob('en'))}. Home {P('ADDRESS', address('en'))}, {P('POSTAL_CODE', postal())}. "
            f"Producer {K('PERSONNEL', personnel())}, reserve {K('AMOUNT', amount('en'))}.")


def t_fi_fr():
    sinlabel = rng.choice(["NAS", "NAS :", "numéro d'assurance sociale", "no d'assurance sociale"])
    return (f"Note F&I, dossier {K('DEAL', deal())}, inventaire {K('STOCK', stock())} : acheteur {P('NAME', person())}, "
            f"{sinlabel} {P('SIN', sin())}, {rng.choice(['né le', 'née le', 'date de naissance :', 'DDN'])} {P('DOB', dob('fr'))}. "
            f"Adresse : {P('ADDRESS', address('fr'))}, {P('POSTAL_CODE', postal())}. Directeur {K('PERSONNEL', personnel())}.")


def t_fi_en_nosin_ctx():
    return (f"Credit app for deal {K('DEAL', deal())} received {K('DATE', date('en'))}. Applicant ID {P('SIN', sin())}; "
            f"{rng.choice(EN_DL_CTX)} {P('DRIVERS_LICENCE', licence_ctx())}. "
            f"Amount financed {K('AMOUNT', amount('en'))}, BN of dealer {K('BN', bn())}.")


def t_fi_fr_licence():
    return (f"Vérification : {rng.choice(['permis de conduire', 'no de permis', 'permis'])} {P('DRIVERS_LICENCE', licence_ctx())}, "
            f"cellulaire {P('PHONE', phone())}, courriel {P('EMAIL', email())}. Contrat {K('DEAL', deal())} du {K('DATE', date('fr'))}, "
            f"montant {K('AMOUNT', amount('fr'))}.")


def t_warranty_en():
    return (f"Warranty claim {K('NUM9', num9_fail())} on RO {K('RO', ro())}, VIN {K('VIN', vin())}, tech {K('PERSONNEL', personnel())}. "
            f"Labour {K('AMOUNT', amount('en'))}, failure date {K('DATE', date('en'))}. "
            f"{rng.choice(['Licence plate', 'Plate', 'Plate #', 'Plate no.'])} {P('PLATE', plate())}. Owner {P('NAME', person())}.")


def t_warranty_fr():
    return (f"Réclamation de garantie {K('NUM9', num9_fail())}, bon {K('RO', ro())}, NIV {K('VIN', vin())}. "
            f"{rng.choice(FR_PLATE_CTX)} {P('PLATE', plate())}. "
            f"Main-d'oeuvre {K('AMOUNT', amount('fr'))}, technicien {K('PERSONNEL', personnel())}, propriétaire {P('NAME', person())}.")


def t_email_en():
    return (f"Hi {P('NAME', rng.choice(GAZ_GIVEN + OTHER_GIVEN))},\nYour {rng.choice(['2021 Honda Civic', '2019 Ford Escape', 'RAV4'])} "
            f"(stock {K('STOCK', stock())}) is ready. Total {K('AMOUNT', amount('en'))}. Reply to {P('EMAIL', email())} "
            f"or call {P('PHONE', phone())}.\nThanks,\n{P('NAME', person())}\nService Advisor {K('PERSONNEL', personnel())}")


def t_email_fr():
    return (f"Bonjour {P('NAME', person())},\nVotre véhicule (NIV {K('VIN', vin())}) sera prêt le {K('DATE', date('fr'))}. "
            f"Solde : {K('AMOUNT', amount('fr'))}. Écrivez-nous à {P('EMAIL', email())} ou au {P('PHONE', phone())}.\n"
            f"Cordialement,\n{P('NAME', person())}")


def t_bare_names_en():
    return (f"{P('NAME', person())} dropped off the unit at 8am; {P('NAME', person('gaz'))} will pick it up. "
            f"Deal {K('DEAL', deal())}, {K('AMOUNT', amount('en'))} down, first payment {K('DATE', date('en'))}.")


def t_bare_names_fr():
    return (f"{P('NAME', person())} a laissé le véhicule ce matin, {P('NAME', person('gaz'))} viendra le chercher. "
            f"Stock {K('STOCK', stock())}, acompte {K('AMOUNT', amount('fr'))}, livraison le {K('DATE', date('fr'))}.")


def t_keep_only_en():
    return (f"Inventory audit: stock {K('STOCK', stock())}, VIN {K('VIN', vin())}, cost {K('AMOUNT', amount('en'))}, "
            f"received {K('DATE', date('en'))}, ref {K('NUM9', num9_fail())}, GST/HST {K('BN', bn())}, "
            f"reviewed by {K('PERSONNEL', personnel())}. RO {K('RO', ro())} closed.")


def t_keep_only_fr():
    return (f"Audit d'inventaire : stock {K('STOCK', stock())}, NIV {K('VIN', vin())}, coût {K('AMOUNT', amount('fr'))}, "
            f"reçu le {K('DATE', date('fr'))}, numéro {K('NUM9', num9_fail())}, TPS/TVQ {K('BN', bn())}, par {K('PERSONNEL', personnel())}.")


def t_address_en():
    return (f"Pickup & delivery to {P('ADDRESS', address('en'))}, {rng.choice(['Toronto, ON', 'Ottawa ON', 'Halifax NS'])} "
            f"{P('POSTAL_CODE', postal())}. Contact {P('NAME', person())} at {P('PHONE', phone())}. RO {K('RO', ro())}.")


def t_address_fr():
    return (f"Livraison au {P('ADDRESS', address('fr'))}, {rng.choice(['Montréal (Québec)', 'Laval, QC', 'Sherbrooke'])} "
            f"{P('POSTAL_CODE', postal())}. Client {P('NAME', person())}, tél. {P('PHONE', phone())}. Bon {K('RO', ro())}.")


TEMPLATES = [
    ("en", t_service_en), ("fr", t_service_fr), ("en", t_fi_en), ("fr", t_fi_fr), ("en", t_fi_en_nosin_ctx), ("fr", t_fi_fr_licence),
    ("en", t_warranty_en), ("fr", t_warranty_fr), ("en", t_email_en), ("fr", t_email_fr), ("en", t_bare_names_en),
    ("fr", t_bare_names_fr), ("en", t_keep_only_en), ("fr", t_keep_only_fr), ("en", t_address_en), ("fr", t_address_fr),
]

MARK = re.compile(r"\{([PK]):([A-Z0-9_]+):([^{}]*)\}")


def render(markup):
    text = b""
    pii, keep = [], []
    at = 0
    for m in MARK.finditer(markup):
        text += markup[at:m.start()].encode()
        start = len(text)
        text += m.group(3).encode()
        span = {"byte_start": start, "byte_end": len(text), "type": m.group(2)}
        (pii if m.group(1) == "P" else keep).append(span)
        at = m.end()
    text += markup[at:].encode()
    return text.decode(), pii, keep


# Hand-written hard cases (written before running the detector on them).
HARD = [
    # 046-454-286 is Luhn valid but starts with 0, which is never issued: not a SIN by the rules
    # in the issue (this label was first written as SIN by mistake and corrected).
    ("en", "Cust called from {P:PHONE:514 555 0147 ext 3} re: deal {K:DEAL:482915736}; sample number {K:OTHER_ID:046-454-286}"),
    ("en", "Customer SIN {P:SIN:130692544}, phone {P:PHONE:(438)555-0199}, stock {K:STOCK:130692544}."),
    ("en", "Amounts: {K:AMOUNT:$130,692.54} and {K:AMOUNT:$1,304.00}; {K:NUM9:130 692 545} is not valid."),
    ("fr", "Total {K:AMOUNT:130 692 544,00 $} payé le {K:DATE:2025-02-03}."),
    ("en", "VIN {K:VIN:1HGCM82633A004352} plate {P:PLATE:BXKR 204} customer {P:NAME:Okonkwo}."),
    ("en", "Born {P:DOB:June 3, 1978}. Vehicle in service since {K:DATE:June 3, 2021}."),
    ("fr", "Né le {P:DOB:3 juin 1978}. Livré le {K:DATE:3 juin 2021}, facture {K:NUM9:104522879}."),
    ("en", "Email {P:EMAIL:jf.tremblay+svc@videotron.ca}. Portal user {K:PERSONNEL:SA-0042}."),
    ("fr", "Mme {P:NAME:Vaillancourt} demeure au {P:ADDRESS:4-1250, rue Sherbrooke Ouest, app. 12}, {P:POSTAL_CODE:H3G 1H9}."),
    ("en", "Mr. {P:NAME:Bartholomew Quintal} lives at {P:ADDRESS:77 Lakeshore Rd E}. Tech {K:PERSONNEL:TECH-204} on RO {K:RO:845221}."),
    ("en", "Toll free {P:PHONE:1-800-555-0100}, fax {P:PHONE:613.555.0188}. Dealer BN {K:BN:894512376RT0001}."),
    ("fr", "Cellulaire : {P:PHONE:+1 819 555 0123 poste 22}. Stock {K:STOCK:U24117}."),
    ("en", "Ontario DL {P:DRIVERS_LICENCE:T1234-56789-01234}; OMVIC dealer licence {K:OTHER_ID:4412398}."),
    ("fr", "Permis {P:DRIVERS_LICENCE:L5621-180477-03}, plaque {P:PLATE:123 ABC}, immatriculé au Québec."),
    ("en", "DOB: {P:DOB:1985-03-14}; contract date {K:DATE:2024-03-14}; RO {K:RO:600117}."),
    ("en", "Spoke with {P:NAME:Ximena Rinfret} about the {K:AMOUNT:$2,450} extended warranty on stock {K:STOCK:24-1183}."),
    ("fr", "Parlé avec {P:NAME:Lysandre Beauséjour} au sujet du dossier {K:DEAL:D-104522}."),
    ("en", "Deal {K:DEAL:730549712} funded {K:DATE:Nov 4, 2025}; reserve {K:AMOUNT:$812.40}; F&I {K:PERSONNEL:FI-017}."),
    ("en", "Call {P:PHONE:4165550199} about licence plate {P:PLATE:CFRT-881}."),
    ("en", "Text from {P:PHONE:+14165550123}: pick up at {P:ADDRESS:1200 Bay Street, suite 400}."),
    ("fr", "Courriel de {P:EMAIL:m.gagnon@sympatico.ca} : le client {P:NAME:Marc-André Gagnon} accepte la soumission de {K:AMOUNT:1 245,50 $}."),
    ("en", "Warranty claim {K:NUM9:555123457} for {K:VIN:2T3ZF4DV7BW123456}, paid {K:AMOUNT:$431.16}."),
    ("en", "Mileage 45,210 km, {K:DATE:03/15/2025}, two Michelin tires, RO {K:RO:845902}."),
    ("fr", "Kilométrage 45 210 km, {K:DATE:15/03/2025}, quatre pneus, bon {K:RO:845903}."),
    ("en", "Customer {P:NAME:JEAN TREMBLAY} signed on {K:DATE:2025-05-02}."),
    ("en", "Emergency contact: {P:NAME:Fenella Achterberg}, {P:PHONE:(902) 555-0175 x204}."),
    ("fr", "{P:NAME:Geneviève Côté} a rappelé; NAS {P:SIN:193 456 787} fourni pour le dossier {K:DEAL:104533}."),
    ("en", "Trade-in: {K:VIN:JM1BK32F781234567}, payoff {K:AMOUNT:$8,120.77}, lien holder TD, plate {P:PLATE:AB1 23C}."),
    ("en", "Appointment {K:DATE:Monday March 3, 2025} with advisor {K:PERSONNEL:SA-0142}; customer reachable at {P:EMAIL:kwame.haddad@outlook.com}."),
    ("fr", "Client {P:NAME:Thiago Nakamura}, {P:ADDRESS:88 chemin du Lac}, {P:POSTAL_CODE:J0K1A0}, né en {P:DOB:1972}."),
]


# Second hand-written batch, added after the first run of the detector on the set (and
# written before running it on these), as the rule for changing the detector requires.
HARD2 = [
    ("en", "Customer {P:NAME:Priyanka Venkataraman} asked for a loaner; phone {P:PHONE:647-555-0142}."),
    ("en", "Left voicemail for Mrs. {P:NAME:Abernathy} at {P:PHONE:(705) 555-0133}."),
    ("fr", "La cliente {P:NAME:Ophélie Brisebois} veut un prêt de véhicule, tél. {P:PHONE:450 555 0166}."),
    # First written as 527 431 885, which fails Luhn (so not a SIN by the issue's rules):
    # corrected to a Luhn-valid number after the first run flagged it.
    ("en", "SIN: {P:SIN:527 431 886}, income verified by {K:PERSONNEL:FI-044} on {K:DATE:2025-06-30}."),
    ("fr", "NAS du coemprunteur : {P:SIN:312-845-670}."),
    ("en", "Co-buyer {P:NAME:Dmitri Volkonsky}, email {P:EMAIL:dvolkonsky@protonmail.com}."),
    ("en", "Licence plate on the trade is {P:PLATE:CKLM 552}; VIN {K:VIN:5YJ3E1EA7KF317000}."),
    ("fr", "Plaque : {P:PLATE:H45 KLM}. Stock {K:STOCK:N4471A}, prix {K:AMOUNT:32 995,00 $}."),
    ("en", "Date of birth {P:DOB:11/02/1966}. Delivery {K:DATE:11/02/2025}."),
    ("fr", "Date de naissance : {P:DOB:17 octobre 1958}."),
    ("en", "Driver's licence {P:DRIVERS_LICENCE:K4402-77812-90113} expires {K:DATE:2027-04-01}."),
    ("en", "Please send the bill of sale to {P:EMAIL:accounting.dept@smallbiz-transport.ca} and cc {K:PERSONNEL:SM-12}."),
    ("en", "Warranty goodwill {K:AMOUNT:$1,980.00} approved, claim {K:NUM9:700112346}, RO {K:RO:771204}."),
    ("fr", "Réclamation {K:OTHER_ID:811234566} refusée, bon {K:RO:771209}, technicien {K:PERSONNEL:T412}."),
    ("en", "Mailing address: {P:ADDRESS:2215 Oakwood Crescent}, Kelowna BC {P:POSTAL_CODE:V1Y 4K2}."),
    ("fr", "Adresse postale : {P:ADDRESS:560, boulevard Saint-Laurent, app. 3}, Montréal {P:POSTAL_CODE:H2Y 2Y5}."),
    ("en", "Hello {P:NAME:Agnieszka},\nyour RO {K:RO:772001} is complete. Total {K:AMOUNT:$612.35}."),
    ("fr", "Bonjour M. {P:NAME:Lachapelle}, votre véhicule est prêt. Facture {K:NUM9:300200101}."),
    ("en", "Tech note: replaced 4 Continental tires, torque 140 ft-lb, {K:DATE:Jan 9, 2026}, RO {K:RO:772310}."),
    ("en", "Phone on file {P:PHONE:250.555.0177}, alt {P:PHONE:+1 (587) 555-0102 ext. 9}."),
    ("en", "F&I: GST {K:BN:104827193RT0001}, deal {K:DEAL:D-220187}, reserve {K:AMOUNT:$1,104.27}, producer {K:PERSONNEL:FI-009}."),
    ("fr", "Appelé {P:NAME:Jean-Sébastien Thivierge} au {P:PHONE:418-555-0190 poste 12} pour confirmer le rendez-vous du {K:DATE:4 février 2026}."),
    ("en", "Owner {P:NAME:Harjit Bains} requests pickup at {P:ADDRESS:15 Birchwood Dr}."),
    ("en", "Buyer {P:NAME:Liam O'Sullivan}, DL {P:DRIVERS_LICENCE:S0981-44120-71203}, born {P:DOB:Feb 29, 1988}."),
    ("fr", "{P:NAME:Marie-Josée Tremblay} a signé le contrat {K:DEAL:502918} le {K:DATE:2025-09-12}."),
]


def main():
    with open("redact_eval.jsonl", "w", encoding="utf-8") as f:
        for i in range(420):
            lang, t = TEMPLATES[i % len(TEMPLATES)]
            text, pii, keep = render(t())
            f.write(json.dumps({"id": f"gen-{i:04d}", "lang": lang, "text": text, "pii": pii, "keep": keep}, ensure_ascii=False) + "\n")
    with open("hard_cases.jsonl", "w", encoding="utf-8") as f:
        for i, (lang, m) in enumerate(HARD + HARD2):
            text, pii, keep = render(m)
            f.write(json.dumps({"id": f"hard-{i:03d}", "lang": lang, "text": text, "pii": pii, "keep": keep}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
