//! What the catalog of a real database reads back can be written as KDL and loaded again
//! unchanged: catalog spellings of types, defaults and names all load cleanly.

mod common;

use formwork::kdl::SourceFile;
use formwork::kdl::load::load_sources;
use formwork::kdl::write::model_to_files;

const SCHEMA_SQL: &str = r#"
CREATE EXTENSION citext;
CREATE EXTENSION btree_gist;
CREATE SCHEMA "Billing ""Dept""";
COMMENT ON SCHEMA "Billing ""Dept""" IS 'money, with "quotes"';
CREATE TYPE public.event_type AS ENUM ('lecture', 'party', 'Two Words', 'ünï');
CREATE TYPE "Billing ""Dept"""."Order" AS ENUM ('new', 'paid');
CREATE TABLE public."Events" (
    id bigint GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 5 CACHE 3),
    "select" character varying(200) COLLATE "C" NOT NULL,
    kind public.event_type NOT NULL DEFAULT 'lecture',
    email citext,
    starts_at timestamp with time zone,
    ends_at timestamp(3) with time zone,
    during tstzrange GENERATED ALWAYS AS (tstzrange(starts_at, ends_at)) STORED,
    tags text[] NOT NULL DEFAULT '{}',
    price numeric(10,2) NOT NULL CHECK (price >= 0),
    room integer,
    "éééééééééééééééééééééééééééééééx" double precision,
    CONSTRAINT "Events_pkey" PRIMARY KEY (id),
    CONSTRAINT events_title_key UNIQUE NULLS NOT DISTINCT ("select", kind) INCLUDE (price) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT events_no_overlap EXCLUDE USING gist (room WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (kind <> 'party')
);
COMMENT ON TABLE public."Events" IS 'it''s a table';
COMMENT ON COLUMN public."Events"."select" IS 'a reserved word';
CREATE INDEX events_starts_idx ON public."Events" (starts_at DESC NULLS LAST, kind);
CREATE UNIQUE INDEX events_lower_idx ON public."Events" (lower("select"::text) text_pattern_ops) WHERE starts_at IS NOT NULL;
CREATE INDEX events_tags_idx ON public."Events" USING gin (tags);
CREATE SEQUENCE "Billing ""Dept""".invoice_no AS integer START 1000 MINVALUE 1000 MAXVALUE 99999 CYCLE;
CREATE UNLOGGED TABLE "Billing ""Dept"""."Invoice Lines" (
    "Line No" integer NOT NULL DEFAULT nextval('"Billing ""Dept""".invoice_no'::regclass),
    event_id bigint NOT NULL,
    state "Billing ""Dept"""."Order",
    PRIMARY KEY ("Line No", event_id),
    CONSTRAINT lines_event_fk FOREIGN KEY (event_id) REFERENCES public."Events" (id) MATCH FULL ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE
);
ALTER SEQUENCE "Billing ""Dept""".invoice_no OWNED BY "Billing ""Dept"""."Invoice Lines"."Line No";
ALTER TABLE "Billing ""Dept"""."Invoice Lines" ADD CONSTRAINT lines_positive CHECK ("Line No" > 0) NOT VALID;
CREATE VIEW public.upcoming WITH (security_barrier = true) AS
    SELECT id, "select" AS title FROM public."Events" WHERE starts_at > now();
COMMENT ON VIEW public.upcoming IS 'front page';
"#;

#[tokio::test]
async fn a_catalog_written_as_kdl_loads_back_equal() {
    let db = common::TestDb::new().await;
    db.execute(SCHEMA_SQL).await;
    let client = db.client().await;
    let catalog = formwork::catalog::introspect(&client).await.unwrap();
    let model = catalog.model;
    assert!(model.tables().count() >= 2, "{model:#?}");

    let files = model_to_files(&model);
    let sources: Vec<SourceFile> = files
        .iter()
        .map(|(p, t)| SourceFile::new(p.display().to_string(), t.clone()))
        .collect();
    let loaded = match load_sources(&sources) {
        Ok(m) => m,
        Err(e) => {
            let mut out = String::new();
            let _ = miette::GraphicalReportHandler::new_themed(
                miette::GraphicalTheme::unicode_nocolor(),
            )
            .render_report(&mut out, &e);
            panic!("dumped files do not load:\n{out}\n{files:#?}");
        }
    };
    assert_eq!(loaded, model, "{files:#?}");
}
