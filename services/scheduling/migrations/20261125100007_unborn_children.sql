-- cpc-scheduling: whether each child is born, from the cases feed: an s47
-- enquiry about an unborn child needs a pre-birth conference, due by the
-- authority's gestation deadline.

ALTER TABLE child_cases
    ADD COLUMN birth_date          date,
    ADD COLUMN expected_birth_date date;
