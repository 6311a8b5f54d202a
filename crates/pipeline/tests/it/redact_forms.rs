//! Whole-entity coverage on forms written for this test by the redactor's engineer (issue 22),
//! from the list of address and name forms in `eval/v2/README.md` and from general knowledge
//! of Canadian addresses and names, with made-up names that are in no word list: a check of
//! the structural rules that does not depend on the evaluation set's texts. Each case marks
//! one entity with `[[...]]`; every byte of it must be redacted.

use pipeline::redact::{Lang, Redactor};

const CASES: &[&str] = &[
    "Customer moved to [[1234 Main Street, Toronto, ON M5V 2T6]] last month.",
    "New address: [[55 Queen St E, Unit 1204, Toronto ON M5C 1R5]]",
    "Mail to [[PO Box 2210, Stn Main, Moncton NB E1C 8J3]] please.",
    "Prev. address [[RR 3, 1123 Concession Road 6, Uxbridge, Ontario L9P 1R3]] (5 yrs).",
    "Ship to [[Suite 300, 4400 Dominion St, Burnaby, BC V5G 4G3]] today.",
    "Address: [[88 Harbour Rd, Apt 7C, Victoria, British Columbia V9A 3S1]]",
    "Lives at [[2101 Range Road 284, Rocky View County, AB T4C 1A1]] now.",
    "Residence [[45 Township Road 530, Parkland County, Alberta T7Y 2A1]]",
    "[[7 Water Street, St. John's, NL A1C 1A1]]",
    "He lives at [[19 Oak Dr]] and works downtown.",
    "Pickup at [[401 Bay St., Toronto]].",
    "Updated address to [[250 King St W Suite 12 Toronto Ont. M5V 1J1]].",
    "[[1200 BOUL. RENÉ-LÉVESQUE O., BUREAU 1500, MONTRÉAL (QUÉBEC) H3B 4W8]]",
    "Adresse : [[3455, avenue du Musée, app. 12, Montréal (Québec) H3G 2C9]]",
    "Nouvelle adresse : [[app. 304, 1500 rue Sherbrooke Ouest, Montréal QC H3G 1L3]]",
    "J'habite au [[62 rang Saint-Joseph, Saint-Liboire (Québec) J0H 1R0]].",
    "Adresse postale [[case postale 4021, succ. Place-d'Armes, Montréal (QC) H2Y 3X8]]",
    "Adresse : [[1045, route 132, Saint-Michel-de-Bellechasse QC G0R 3S0]]",
    "[[712 chemin du Lac-Noir\nSaint-Adolphe-d'Howard (Québec)  J0T 2B0]]",
    "demeure au [[14, rue des Érables, logement 3, Lévis]], va déposer",
    "Remorqué du [[5-1800 boul. Lebourgneuf, Québec (QC) G2K 2G3]], réf. CAA",
    "Service au [[1750 montée Masson, Terrebonne]] en avant-midi.",
    "Livraison au [[88 côte de la Fabrique, Québec]] demain.",
    "Address [[123-4567 Kingsway, Vancouver, BC V5H 2B6]]",
    "Address [[#12 - 3456 Hastings St, Burnaby BC V5B 1S2]]",
    "[[Unit 8, 250 Dundas St W, Mississauga, ON L5B 1J2]]",
    "mailing address [[P.O. Box 77, Gander, NL A1V 1W5]]",
    "Lives at [[16 Elm Ave\nWinnipeg, MB  R3M 2S5]]",
    "Client au [[3 rue Principale, Saint-Sauveur]].",
    "Address: [[987 LAKESHORE BLVD W, ETOBICOKE, ON M8V 1A1]]",
    "Delivery: [[45 George St, Charlottetown, PE C1A 4C3]]",
    "New address: [[1189 Portage Ave, Winnipeg, Manitoba R3G 0T4]]",
    "He is at [[2 Sussex Dr, Ottawa]] this week.",
    "Address [[18 Old Kingston Rd, Scarborough, Ontario M1E 3J5]]",
    "[[120-11 Main Street North, Brampton, ON L6V 1N6]]",
    "Tow from [[6789 Highway 7, Markham ON L3P 3B1]]",
    "at [[235 Sideroad 15, Caledon]] today",
    "[[4400 boul. de la Côte-Vertu, Saint-Laurent (Québec) H4S 1C4]]",
    "[[355 boulevard Saint-Joseph Est, Montréal QC H2T 1J6]]",
    "adresse [[7 place du Commerce, Île-des-Soeurs (QC) H3E 1A1]]",
    "[[1450 av. Laurier Ouest, Outremont, Qc H2V 2J9]]",
    "adresse [[22 rue de la Gare\nSainte-Agathe-des-Monts QC J8C 1A1]]",
    "Moved: [[31 Birchwood Cres., Halifax, N.S. B3M 1K8]]",
    "[[APT 4, 220 BRUNSWICK ST, FREDERICTON NB E3B 1G9]]",
    "Address: [[10 Rue Notre-Dame E, Montreal, QC H2Y 1B7]]",
    "[[RR#2 Site 5 Box 12, Sylvan Lake, AB T4S 1X6]]",
    "domicilié au [[45 de la Commune Ouest, Montréal (Québec) H2Y 2C6]]",
    "[[5600 ch. de la Côte-des-Neiges, app. 405, Montréal (Québec) H3T 1Y8]]",
    "Address [[77 Bloor St W, 4th Floor, Toronto, ON M5S 1M2]]",
    "[[9 Rideau St., Ottawa, Ont.]]",
    "Address: [[1820 Macleod Trail SE, Calgary, AB T2G 2P7]]",
    "Moved to [[10250 101 St NW, Edmonton AB T5J 3P4]]",
    "at [[215 17 Ave SW, Calgary]] now",
    "[[7 Sir John A. Macdonald Blvd, Kingston, ON K7L 1A1]]",
    "[[500 Queen Elizabeth Way, Oakville ON L6K 1A1]]",
    "Adresse : [[1234, 1re Avenue, Québec (Québec) G1L 3K8]]",
    "[[56 4e Rue, Rouyn-Noranda QC J9X 2A1]]",
    "[[32 route de l'Église, Saint-Jean-de-l'Île-d'Orléans (QC) G0A 3W0]]",
    "adresse [[98 montée du Moulin, Laval (Qc) H7A 1A1]]",
    "[[1501 boulevard des Forges, Trois-Rivières, Québec G8Z 1T7]]",
    "[[250 rue Saint-Jean-Baptiste Est, Rimouski]]",
    "Le client demeure au [[4321 chemin Sainte-Foy, Québec]]",
    "[[15 rang du Bas-de-l'Église, Saint-Jean-Port-Joli (QC) G0R 3G0]]",
    "[[101 Trans-Canada Hwy, Salmon Arm BC V1E 1S2]]",
    "[[44 Old Post Rd, Bedford, Nova Scotia B4A 1A1]]",
    "[[12 Main St N, Brampton]].",
    "[[1 1st Ave NW, Swift Current, SK S9H 0M5]]",
    "[[303 Wellington Crescent, Winnipeg, MB R3M 0A1]]",
    "[[10 Riverside Dr E, Windsor, Ontario N9A 1A1]]",
    "[[55 St. Laurent Blvd, Ottawa, ON K1K 2Z9]]",
    "[[123 Mont-Royal Ave E, Montreal QC H2J 1W5]]",
    "Client: [[apt 5, 250 rue Jarry E, Montréal]].",
    "mail [[c.p. 212, saint-georges (québec) g5y 5c7]]",
    "[[app 11, 18 rue de l'église, terrebonne qc j6w 1a1]]",
    "[[APARTMENT 12, 450 CHURCH ST, TORONTO ON M4Y 2C4]]",
    "[[88 Baker St Unit 5\nHalifax, Nova Scotia  B3N 1B8]]",
    "[[2200 Rue Sainte-Catherine O, Montréal, QC H3H 1M8]]",
    "[[1000, rue De La Gauchetière Ouest, bureau 2400, Montréal (Québec) H3B 4W5]]",
    "[[160 Elgin Street, 26th Floor, Ottawa, ON K2P 2P7]]",
    "[[3 Place Ville Marie, Montréal (Québec) H3B 2E3]]",
    "Adresse : [[2575 boul. Laurier, app. 3, Sainte-Foy (Québec) G1V 2L8]]",
    "[[14 Carleton St. W., Toronto]]",
    "[[8-245 Kingsway, Vancouver BC V5T 3J7]]",
    "[[4800 Highway 7 West, Vaughan, Ontario L4L 1H8]]",
    "[[1200 County Road 22, Belle River, ON N0R 1A0]]",
    "[[PO BOX 45, STN A, TORONTO ON M5W 1A2]]",
    "[[Box 123, Humboldt, SK S0K 2A0]]",
    "[[RR 1, Stn Main, Brandon MB R7A 5Y1]]",
    "[[R.R. #2, Kemptville, Ontario K0G 1J0]]",
    "[[21 Jump St, Moose Jaw, Sask. S6H 1A1]]",
    "[[77 Water St\nCharlottetown PE  C1A 1A3]]",
    "[[9 Cabot St, St. John's NL A1C 1A1]]",
    "Buyer [[Zorvan Quellet]] signed the bill of sale.",
    "Acheteur : [[Zorvan Quellet]]",
    "Co-buyer: [[QUELLET,ZORVAN]]",
    "Cliente [[Mirela Vostrikova]] a appelé.",
    "Cust [[Z. Quellet]] approved the estimate.",
    "Spouse [[J.-F. Quellet]] will pick up.",
    "Contact: [[Zorvan T. Quellet]] / 514-555-0199",
    "name: [[ZORVAN QUELLET]]",
    "Propriétaire [[Zorvan Quellet-Brassard]], cell 514",
    "Mme [[Quellet]] a rappelé.",
    "M. [[Zorvan Quellet]] est passé.",
    "Mr. [[Quellet]] called back.",
    "Dr [[Zorvan de Quellet]] approved.",
    "Talked to [[Zorvan Quellet]] about the loaner.",
    "Registered to [[QUELLET,ZORVAN T]] and [[Quellet, Mirela]].",
    "Immatriculé au nom de [[Quellet, Zorvan]] et [[QUELLET,MIRELA]].",
    "Hi [[Zorvan]], your car is ready.",
    "Bonjour [[Mirela]], votre véhicule est prêt.",
    "Thanks,\n[[Zorvan Quellet]]\n514-555-0199",
    "Merci,\n[[Mirela]]",
    "From: [[Zorvan Quellet]] <zq@example.com>",
    "De : [[Mirela Vostrikova]] <mv@example.ca>",
    "Spoke w/ Mrs [[Quellet]], wants a loaner.",
    "Parlé à Mme [[Mirela Vostrikova]], veut un véhicule.",
    "The purchaser [[Zorvan Quellet]] authorises the dealer.",
    "L'acheteur [[Zorvan Quellet]] autorise le commerçant.",
    "Signed at 5:40 PM by [[QUELLET,ZORVAN]] and witnessed by SA-12.",
    "Signé par [[Quellet, Zorvan]], témoin SA-183.",
    "Appelé [[Zorvan Quellet]] au 514-555-0199.",
    "[[Zorvan Quellet]]   514-555-0199   zq@example.com",
    "[[QUELLET,ZORVAN]]\\t514-555-0199\\tzq@example.com",
    "Customer [[Jean-Philippe Tremblay]] called.",
    "[[Tremblay, Jean-Philippe]] | 514 555 0199",
    "Cust [[Marie-Ève Gagnon-Roy]] ok'd diag.",
    "[[Gagnon]]'s truck is in bay 4.",
    "le char à [[Tremblay]], 2019 Civic",
    "Conjoint [[luc tremblay]] viendra chercher l'auto.",
    "Client [[Émilie Côté]] a signé.",
    "CUSTOMER [[K. HUANG]] STATES POWER LIFTGATE WON'T CLOSE.",
    "SPOUSE [[FATOU HARRIS]] PICKING UP.",
    "Ms [[Nguyen Thi Hoa]] called.",
    "Client [[Nguyen]] en attente.",
    "Co-applicant: [[ROBERTSON, CHELSEA]]",
    "First Name: [[Zorvan]]\nLast Name: [[Quellet]]",
    "Prénom : [[Zorvan]]\nNom : [[Quellet]]",
    "ask for [[Zorvan]] at the desk.",
    "Mon conjoint [[Zorvan Quellet]] va venir.",
    "My wife [[Z. Quellet]] will pick it up.",
    "Ownership in the names of [[Zorvan Quellet]] and [[Mirela Quellet]].",
];

#[test]
fn every_marked_entity_is_redacted_whole() {
    let r = Redactor::offline();
    let mut misses = Vec::new();
    for case in CASES {
        let a = case.find("[[").unwrap();
        let b = case.find("]]").unwrap();
        let text = format!("{}{}{}", &case[..a], &case[a + 2..b], &case[b + 2..]);
        let (s, e) = (a, b - 2);
        let spans = r.scan(&text, Lang::En).unwrap();
        // Every byte of [s, e) inside the union of the (sorted, disjoint) spans.
        let mut at = s;
        for sp in &spans {
            if sp.byte_end <= at {
                continue;
            }
            if sp.byte_start > at {
                break;
            }
            at = sp.byte_end;
        }
        if at < e {
            misses.push(format!("{:?} in {case:?}", &text[s..e]));
        }
    }
    assert!(misses.is_empty(), "{} of {} not redacted whole: {misses:#?}", misses.len(), CASES.len());
}

#[test]
fn issue_24_a_label_word_after_a_cue_is_not_a_name() {
    // "customer SIN: …" became "customer [NAME]: [SIN]".
    let r = Redactor::offline();
    for (text, want) in [
        ("customer SIN: 130 692 544", "customer SIN: [SIN]"),
        ("Client NAS : 130 692 544", "Client NAS : [SIN]"),
        ("CUSTOMER VIN 1HGCM82633A004352", "CUSTOMER VIN 1HGCM82633A004352"),
        ("Cust Tel: 514-872-3344", "Cust Tel: [PHONE]"),
        ("buyer DOB: 1980-04-12", "buyer DOB: [DOB]"),
    ] {
        assert_eq!(r.redact(text, Lang::En).unwrap().redacted, want);
    }
}
