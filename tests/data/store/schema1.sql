-- A store of schema version 1, as `ptag run onboarding.ptag tiers.ptag --events schema1-events.jsonl --state s.db` wrote it before version 2 (`sqlite3 s.db .dump`, plus its user_version).
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  format TEXT NOT NULL,
  program TEXT,
  clock TEXT,
  clock_seconds INTEGER,
  commits INTEGER NOT NULL,
  records INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  committed_at TEXT
);
INSERT INTO meta VALUES(1,'ptag store',replace('ptag program 1\nfile 15 3146\nonboarding.ptag\n# Onboarding and activation: welcome new partners and mark their first steps.\n# A join can arrive after the first signup: it must not make a partner new again.\non join when not tagged "Activated" add "New Partner"\non first_signup                     remove "New Partner" add "Activated"\non first_sale                       add "Proven"\non first_commission                 add "Earning"\non anniversary 365d                 add "One Year"\n\n# Partners from the DACH region get the German welcome kit.\nrule "Welcome kit DACH"\non join\n  when partner.country in ["DE", "AT", "CH"]\n  emit "welcome_kit_de"\n\n# A new partner who brings clicks but no signup after two weeks gets a nudge,\n# once: "Nudged" marks who got it, so later clicks do not send it again.\nrule "Activation nudge"\non click\n  when tagged "New Partner" and not tagged "Nudged" and clicks >= 25 and days_since_join >= 14\n  emit "activation_nudge"\n  add "Nudged"\n\n# A signed contract (a custom event the CRM sends) puts the partner on the pro plan.\nrule "Pro contract" on event "contract.signed" add "Pro"\n\ntest "a signed contract puts a partner on the pro plan" {\n  at 2026-01-01 join "p9"\n  at 2026-02-01 event "contract.signed" "p9" { plan: "pro" }\n  expect records [add "Pro" by "Pro contract"]\n}\n\ntest "the first signup activates a partner" {\n  at 2026-01-01 join "p1" { country: "FR" }\n  expect "p1" tags ["New Partner"]\n  at 2026-01-05 signup "p1"\n  expect "p1" tags ["Activated"]\n  expect "p1" signups == 1\n}\n\ntest "a sale and a commission prove a partner" {\n  at 2026-01-01 join "p2"\n  at 2026-01-10 sale "p2" { amount: 49.90, customer: "c1" }\n  expect records [add "Proven"]\n  at 2026-01-31 commission "p2" { amount: 4.99 }\n  expect "p2" has "Earning"\n  expect "p2" has "New Partner"\n}\n\ntest "DACH partners get the German kit" {\n  at 2026-02-01 join "p3" { country: "AT" }\n  expect records [add "New Partner", emit "welcome_kit_de" by "Welcome kit DACH"]\n}\n\ntest "a join that arrives after the first signup does not make a partner new again" {\n  at 2026-01-05 signup "p4"\n  expect "p4" tags ["Activated"]\n  at 2026-01-01 join "p4" { country: "FR" }\n  expect no records\n  expect "p4" tags ["Activated"]\n}\n\ntest "the activation nudge is sent once" {\n  at 2026-01-01 join "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  at 2026-01-02 click "p5"\n  expect "p5" clicks == 24\n  at 2026-01-20 click "p5"\n  expect records [emit "activation_nudge" by "Activation nudge", add "Nudged"]\n  at 2026-01-21 click "p5"\n  expect no records\n  at 2026-01-22 signup "p5"\n  at 2026-01-23 click "p5"\n  expect no records\n}\n\nfile 10 2492\ntiers.ptag\n# Performance tiers: revenue moves partners up through exclusive tiers.\n\nlet silver_threshold = 1000\nlet gold_threshold = 20000\nlet vip_threshold = 5000\n\nexclusive "Bronze", "Silver", "Gold"\n\non first_sale                            add "Bronze"\non milestone revenue >= silver_threshold add "Silver"\non milestone revenue >= gold_threshold   add "Gold"\non milestone revenue >= vip_threshold    add "VIP"\non milestone signups >= 10               add "Rising Star"\non milestone customers >= 50             add "Key Partner"\n\n# A large single order earns a month of featured placement.\nrule "Big ticket" on sale when event.amount >= 1000 add "Featured" for 30d\n\n# Refunds that pull revenue back under the line cost the Silver tier.\nrule "Silver demotion"\non refund\n  when tagged "Silver" and revenue < silver_threshold\n  add "Bronze"\n\n# A milestone fires once per partner: after a demotion it will not promote\n# again, so this rule looks at revenue on every sale.\nrule "Silver again"\non sale\n  when tagged "Bronze" and revenue >= silver_threshold and revenue < gold_threshold\n  add "Silver"\n\non tag_added "Gold" emit "gold_reached"\n\ntest "revenue climbs the tiers" {\n  at 2026-01-01 join "p1"\n  at 2026-01-02 sale "p1" { amount: 600, customer: "c1" }\n  expect "p1" has "Bronze"\n  at 2026-01-03 sale "p1" { amount: 400, customer: "c2" }\n  expect records [add "Silver", remove "Bronze"]\n  expect "p1" lacks "Bronze"\n  at 2026-01-04 sale "p1" { amount: 4000, customer: "c1" }\n  expect "p1" has "VIP"\n  expect "p1" revenue == 5000\n  expect "p1" customers == 2\n}\n\ntest "money is exact: 0.7 + 0.3 reaches 1000.0" {\n  at 2026-01-01 join "p2"\n  at 2026-01-02 sale "p2" { amount: 999.7, customer: "c1" }\n  at 2026-01-03 sale "p2" { amount: 0.3, customer: "c1" }\n  expect "p2" has "Silver"\n}\n\ntest "a refund below the line demotes to Bronze" {\n  at 2026-01-01 join "p3"\n  at 2026-01-02 sale "p3" { amount: 1200, customer: "c1" }\n  at 2026-01-05 refund "p3" { amount: 300 }\n  expect records [add "Bronze" by "Silver demotion", remove "Silver" by "Silver demotion"]\n}\n\ntest "a demoted partner earns Silver back on a later sale" {\n  at 2026-01-01 join "p4"\n  at 2026-01-02 sale "p4" { amount: 1200, customer: "c1" }\n  at 2026-01-05 refund "p4" { amount: 300 }\n  expect "p4" has "Bronze"\n  at 2026-01-10 sale "p4" { amount: 200, customer: "c1" }\n  expect records [add "Silver" by "Silver again", remove "Bronze" by "Silver again"]\n  at 2026-01-11 sale "p4" { amount: 50, customer: "c1" }\n  expect no records\n}\n\n','\n',char(10)),'2026-01-18T06:29:43Z',1768717783,1,23,'2026-12-01T22:17:29Z','2026-12-01T22:17:29Z');
CREATE TABLE snapshot (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  data BLOB NOT NULL
);
INSERT INTO snapshot VALUES(1,X'50544147534e41500200000000000000250a00000000000012000000110000006f6e626f617264696e672e707461673a3300070000006f6e206a6f696e74c2f0e5fb95d7b800000000000000000000110000006f6e626f617264696e672e707461673a34000f0000006f6e2066697273745f7369676e7570bd2c51ee14f222fb01030000000000000000110000006f6e626f617264696e672e707461673a35000d0000006f6e2066697273745f73616c659619e4c3eed4b16f01040000000000000000110000006f6e626f617264696e672e707461673a3600130000006f6e2066697273745f636f6d6d697373696f6ed307dd285540d02a01060000000000000000110000006f6e626f617264696e672e707461673a3700130000006f6e20616e6e697665727361727920333635648670a8a87fc38faa04008033e101000000001000000057656c636f6d65206b6974204441434801070000006f6e206a6f696e537c5ec5ea191c61000000000000000000001000000041637469766174696f6e206e7564676501080000006f6e20636c69636b092805eee87748ae000200000000000000000c00000050726f20636f6e7472616374011a0000006f6e206576656e742022636f6e74726163742e7369676e656422a302bff4189ce1a2020000000000000000000c00000074696572732e707461673a39000d0000006f6e2066697273745f73616c655993e18ac36d465b010400000000000000000d00000074696572732e707461673a3130001c0000006f6e206d696c6573746f6e6520726576656e7565203e3d2031303030c84c5fdecc590e06030200ca9a3b000000000d00000074696572732e707461673a3131001d0000006f6e206d696c6573746f6e6520726576656e7565203e3d203230303030dcfd44784355d63a030200c817a8040000000d00000074696572732e707461673a3132001c0000006f6e206d696c6573746f6e6520726576656e7565203e3d203530303045ab1c41ec54e49d030200f2052a010000000d00000074696572732e707461673a3133001a0000006f6e206d696c6573746f6e65207369676e757073203e3d203130379fc9ede8f022d2030080969800000000000d00000074696572732e707461673a3134001c0000006f6e206d696c6573746f6e6520637573746f6d657273203e3d203530e7f6be354f9ff886030180f0fa02000000000a000000426967207469636b657401070000006f6e2073616c65a7daa92371b9b5e8000400000000000000000f00000053696c7665722064656d6f74696f6e01090000006f6e20726566756e64841ebfcb12599609000500000000000000000c00000053696c76657220616761696e01070000006f6e2073616c65b1374b65478c1a2c000400000000000000000d00000074696572732e707461673a333200130000006f6e207461675f61646465642022476f6c642251d788b1ec45e405050000000000000000000e0000000600000042726f6e7a65000600000053696c7665720004000000476f6c640009000000416374697661746564000b0000004e657720506172746e6572000600000050726f76656e00070000004561726e696e6700080000004f6e65205965617200060000004e7564676564000300000050726f0003000000564950000b000000526973696e672053746172000b0000004b657920506172746e65720008000000466561747572656400c80b88c519e4de6c01d77d6c69000000000500000005000000702d3033390000000000000000000000000000000011c25a6900000000baed686900000000ce3d656900000000010000000000000000000000030000000d000000000000000000000000000000000000010003000200000007000000636f756e747279010000000000000000020000004348070000006368616e6e656c01000000000000000006000000736f6369616c0000000005000000702d303230c0d8093e01000000000d36080000000090d35f6900000000d77d6c6900000000d77d6c69000000000100000005000000050000000e0000005d00000000000000000000020000000000000006000500060001000a000d0003000200000007000000636f756e747279010000000000000000020000004742070000006368616e6e656c01000000000000000006000000636f75706f6e010000000d00f80d9069000000000e0000000100000005000000702d303031000000000000000000000000000000003a3f646900000000ca2f6c6900000000ca2f6c6900000000010000000000000000000000030000000d000000000000000000000000000000000000010003000200000007000000636f756e747279010000000000000000020000004e4c070000006368616e6e656c01000000000000000004000000626c6f670000000005000000702d303334000000000000000000612e07000000004e5c64690000000047676c69000000004e5c64690000000000000000000000000000000004000000450000000000000000000000000000000000000200040006000200000007000000636f756e747279010000000000000000020000004348070000006368616e6e656c01000000000000000006000000636f75706f6e0000000005000000702d30313600000000000000000000000000000000a8086a690000000008636b690000000008636b69000000000100000000000000000000000000000009000000000000000000000000000000000000010003000200000007000000636f756e747279010000000000000000020000004742070000006368616e6e656c01000000000000000004000000626c6f670000000005000000000000000100000007000000632d31392d32390100000007000000632d31392d31310100000007000000632d31392d34300100000007000000632d31392d33330100000007000000632d31392d3135280000000000000007000000652d303832383407000000652d303832383507000000652d303337313907000000652d303337323107000000652d303337323007000000652d303337323307000000652d303337323207000000652d303030303107000000652d303639393307000000652d303337323607000000652d303337323407000000652d303337323507000000652d303832383607000000652d303337323807000000652d303030303207000000652d303337323707000000652d303832383707000000652d303337333007000000652d303337323907000000652d303337333107000000652d303030303307000000652d303639393407000000652d303337333307000000652d303337333207000000652d303832383807000000652d303639393507000000652d303337333607000000652d303239303707000000652d303030303407000000652d303337333407000000652d303337333507000000652d303639393607000000652d303337333807000000652d303239303807000000652d303337333707000000652d303337343007000000652d303030303507000000652d303639393707000000652d303639393807000000652d3033373431cdd7d0f91c705000');
CREATE TABLE input (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  path TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  offset INTEGER NOT NULL,
  line INTEGER NOT NULL,
  out_path TEXT NOT NULL,
  out_length INTEGER NOT NULL
);
INSERT INTO input VALUES(1,'a.jsonl','fnv1a64:4508:93f7d6536fa73ce4',4508,40,'a.out',3310);
CREATE TABLE partners (
  partner TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  signups INTEGER NOT NULL,
  customers INTEGER NOT NULL,
  revenue TEXT NOT NULL,
  sales INTEGER NOT NULL,
  clicks INTEGER NOT NULL,
  commissions TEXT NOT NULL,
  revenue_micros INTEGER NOT NULL,
  commissions_micros INTEGER NOT NULL,
  joined_at TEXT,
  last_activity TEXT,
  last_referral TEXT
);
INSERT INTO partners VALUES('p-039',0,1,0,'0',0,3,'0',0,0,'2026-01-04T19:40:01Z','2026-01-15T13:38:02Z','2026-01-12T18:30:38Z');
INSERT INTO partners VALUES('p-020',1,1,5,'5335.8',5,14,'137.76',5335800000,137760000,'2026-01-08T15:56:00Z','2026-01-18T06:29:43Z','2026-01-18T06:29:43Z');
INSERT INTO partners VALUES('p-001',2,1,0,'0',0,3,'0',0,0,'2026-01-12T00:24:26Z','2026-01-18T00:56:42Z','2026-01-18T00:56:42Z');
INSERT INTO partners VALUES('p-034',3,0,0,'0',0,4,'120.48',0,120480000,'2026-01-12T02:28:30Z','2026-01-18T04:53:27Z','2026-01-12T02:28:30Z');
INSERT INTO partners VALUES('p-016',4,1,0,'0',0,0,'0',0,0,'2026-01-16T09:45:12Z','2026-01-17T10:23:04Z','2026-01-17T10:23:04Z');
CREATE TABLE partner_tags (
  partner TEXT NOT NULL,
  tag TEXT NOT NULL,
  position INTEGER NOT NULL,
  added_at TEXT NOT NULL,
  rule TEXT NOT NULL,
  expires_at TEXT,
  PRIMARY KEY (partner, tag)
) WITHOUT ROWID;
INSERT INTO partner_tags VALUES('p-001','Activated',0,'2026-01-18T00:56:42Z','onboarding.ptag:4',NULL);
INSERT INTO partner_tags VALUES('p-016','Activated',0,'2026-01-17T10:23:04Z','onboarding.ptag:4',NULL);
INSERT INTO partner_tags VALUES('p-020','Activated',5,'2026-01-18T06:29:43Z','onboarding.ptag:4',NULL);
INSERT INTO partner_tags VALUES('p-020','Earning',1,'2026-01-10T18:01:31Z','onboarding.ptag:6',NULL);
INSERT INTO partner_tags VALUES('p-020','Featured',4,'2026-01-15T05:54:00Z','Big ticket','2026-02-14T05:54:00Z');
INSERT INTO partner_tags VALUES('p-020','Proven',0,'2026-01-10T03:59:11Z','onboarding.ptag:5',NULL);
INSERT INTO partner_tags VALUES('p-020','Silver',2,'2026-01-15T05:54:00Z','tiers.ptag:10',NULL);
INSERT INTO partner_tags VALUES('p-020','VIP',3,'2026-01-15T05:54:00Z','tiers.ptag:12',NULL);
INSERT INTO partner_tags VALUES('p-034','Earning',1,'2026-01-16T00:08:24Z','onboarding.ptag:6',NULL);
INSERT INTO partner_tags VALUES('p-034','New Partner',0,'2026-01-12T02:28:30Z','onboarding.ptag:3',NULL);
INSERT INTO partner_tags VALUES('p-039','Activated',0,'2026-01-12T18:30:38Z','onboarding.ptag:4',NULL);
CREATE TABLE records (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  partner TEXT NOT NULL,
  action TEXT NOT NULL,
  tag TEXT,
  name TEXT,
  rule TEXT NOT NULL,
  cause TEXT NOT NULL,
  event TEXT
);
INSERT INTO records VALUES(1,'2026-01-04T19:40:01Z','p-039','add','New Partner',NULL,'onboarding.ptag:3','event','e-08284');
INSERT INTO records VALUES(2,'2026-01-04T19:40:01Z','p-039','emit',NULL,'welcome_kit_de','Welcome kit DACH','event','e-08284');
INSERT INTO records VALUES(3,'2026-01-08T15:56:00Z','p-020','add','New Partner',NULL,'onboarding.ptag:3','event','e-03719');
INSERT INTO records VALUES(4,'2026-01-10T03:59:11Z','p-020','add','Proven',NULL,'onboarding.ptag:5','event','e-03721');
INSERT INTO records VALUES(5,'2026-01-10T03:59:11Z','p-020','add','Bronze',NULL,'tiers.ptag:9','event','e-03721');
INSERT INTO records VALUES(6,'2026-01-10T18:01:31Z','p-020','add','Earning',NULL,'onboarding.ptag:6','event','e-03723');
INSERT INTO records VALUES(7,'2026-01-12T00:24:26Z','p-001','add','New Partner',NULL,'onboarding.ptag:3','event','e-00001');
INSERT INTO records VALUES(8,'2026-01-12T02:28:30Z','p-034','add','New Partner',NULL,'onboarding.ptag:3','event','e-06993');
INSERT INTO records VALUES(9,'2026-01-12T02:28:30Z','p-034','emit',NULL,'welcome_kit_de','Welcome kit DACH','event','e-06993');
INSERT INTO records VALUES(10,'2026-01-12T18:30:38Z','p-039','remove','New Partner',NULL,'onboarding.ptag:4','event','e-08286');
INSERT INTO records VALUES(11,'2026-01-12T18:30:38Z','p-039','add','Activated',NULL,'onboarding.ptag:4','event','e-08286');
INSERT INTO records VALUES(12,'2026-01-15T05:54:00Z','p-020','add','Silver',NULL,'tiers.ptag:10','event','e-03733');
INSERT INTO records VALUES(13,'2026-01-15T05:54:00Z','p-020','remove','Bronze',NULL,'tiers.ptag:10','event','e-03733');
INSERT INTO records VALUES(14,'2026-01-15T05:54:00Z','p-020','add','VIP',NULL,'tiers.ptag:12','event','e-03733');
INSERT INTO records VALUES(15,'2026-01-15T05:54:00Z','p-020','add','Featured',NULL,'Big ticket','event','e-03733');
INSERT INTO records VALUES(16,'2026-01-16T00:08:24Z','p-034','add','Earning',NULL,'onboarding.ptag:6','event','e-06995');
INSERT INTO records VALUES(17,'2026-01-16T09:45:12Z','p-016','add','New Partner',NULL,'onboarding.ptag:3','event','e-02907');
INSERT INTO records VALUES(18,'2026-01-17T10:23:04Z','p-016','remove','New Partner',NULL,'onboarding.ptag:4','event','e-02908');
INSERT INTO records VALUES(19,'2026-01-17T10:23:04Z','p-016','add','Activated',NULL,'onboarding.ptag:4','event','e-02908');
INSERT INTO records VALUES(20,'2026-01-18T00:56:42Z','p-001','remove','New Partner',NULL,'onboarding.ptag:4','event','e-00005');
INSERT INTO records VALUES(21,'2026-01-18T00:56:42Z','p-001','add','Activated',NULL,'onboarding.ptag:4','event','e-00005');
INSERT INTO records VALUES(22,'2026-01-18T06:29:43Z','p-020','remove','New Partner',NULL,'onboarding.ptag:4','event','e-03741');
INSERT INTO records VALUES(23,'2026-01-18T06:29:43Z','p-020','add','Activated',NULL,'onboarding.ptag:4','event','e-03741');
CREATE INDEX partner_tags_by_tag ON partner_tags (tag);
COMMIT;
PRAGMA user_version = 1;
