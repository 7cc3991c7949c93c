//! Records: round trips, rollback, paging, unique indexes.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_round_trip() {
    for db in backends() {
        let name = db.name;
        let seq = db
            .store
            .write(|tx| -> R<i64> { tx.insert(&conversation("CH1", Some("one"))) })
            .await
            .unwrap();
        assert!(seq > 0, "{name}");
        let got = db
            .store
            .read(|tx| -> R<Option<ConversationRow>> { tx.get("CH1") })
            .await
            .unwrap()
            .expect("inserted");
        let mut want = conversation("CH1", Some("one"));
        want.seq = seq;
        assert_eq!(got, want, "{name}");

        let mut changed = got.clone();
        changed.state = "inactive".into();
        changed.date_inactive = None;
        changed.bindings = Some("{\"email\":{}}".into());
        let c2 = changed.clone();
        assert!(
            db.store
                .write(move |tx| -> R<bool> { tx.update(&c2) })
                .await
                .unwrap()
        );
        let (found, count, missing) = db
            .store
            .read(|tx| -> R<_> {
                Ok((
                    tx.find::<ConversationRow>(
                        "state = ?1 AND date_inactive IS NULL",
                        &[Param::Text("inactive")],
                    )?,
                    tx.count::<ConversationRow>("account_sid = ?1", &[Param::Text("AC1")])?,
                    tx.get::<ConversationRow>("CH404")?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(found, Some(changed), "{name}");
        assert_eq!((count, missing), (1, None), "{name}");

        let (deleted, again) = db
            .store
            .write(|tx| -> R<_> {
                Ok((
                    tx.delete::<ConversationRow>("CH1")?,
                    tx.delete::<ConversationRow>("CH1")?,
                ))
            })
            .await
            .unwrap();
        assert_eq!((deleted, again), (true, false), "{name}");
    }
}

/// `update_changed` writes the columns that differ and leaves the others as the database has
/// them: a column changed behind the record's back (here by a plain statement) survives,
/// where a full `update` would have put the record's stale value back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_changed_writes_only_what_changed() {
    for db in backends() {
        let name = db.name;
        let (row, written, untouched, gone) = db
            .store
            .write(|tx| -> R<_> {
                tx.insert(&conversation("CH1", Some("one")))?;
                let before: ConversationRow = tx.get("CH1")?.expect("inserted");
                tx.execute(
                    "UPDATE conversations SET friendly_name = ?1 WHERE sid = ?2",
                    &[Param::Text("renamed elsewhere"), Param::Text("CH1")],
                )?;
                let mut after = before.clone();
                after.state = "inactive".into();
                after.date_inactive = None;
                let written = tx.update_changed(&before, &after)?;
                // Nothing changed: no statement, and the row is reported as there.
                let untouched = tx.update_changed(&after, &after.clone())?;
                let mut ghost = conversation("CH404", None);
                let ghost_before = ghost.clone();
                ghost.state = "closed".into();
                let gone = tx.update_changed(&ghost_before, &ghost)?;
                Ok((tx.get::<ConversationRow>("CH1")?, written, untouched, gone))
            })
            .await
            .unwrap();
        let row = row.expect("still there");
        assert!(written && untouched && !gone, "{name}");
        assert_eq!(row.state, "inactive", "{name}");
        assert_eq!(row.date_inactive, None, "{name}");
        assert_eq!(row.unique_name.as_deref(), Some("one"), "{name}");
        assert_eq!(
            row.friendly_name.as_deref(),
            Some("renamed elsewhere"),
            "{name}: a column the record did not change was written back"
        );
    }
}

/// A derived memo (a count here; the conversation's next message index in the server) is
/// computed once per unit on SQLite, forgotten by a write to its table, and answers what
/// the unit said with `remember` after such a write. PostgreSQL computes it every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_derived_memo_is_forgotten_by_writes_and_set_by_remember() {
    const BINDINGS: &str = "bindings of a conversation";
    fn count(tx: &mut parley_store::Tx<'_>) -> R<i64> {
        Ok(tx
            .query_i64(
                "SELECT COUNT(*) FROM bindings WHERE conversation_sid = ?1",
                &[Param::Text("CH1")],
            )?
            .unwrap_or(0))
    }
    for db in backends() {
        let name = db.name;
        let sqlite = name == "sqlite";
        db.store
            .write(move |tx| -> R<()> {
                tx.insert(&binding("MB1", "+15550001"))?;
                let first = tx.derived_memo::<BindingRow, i64>(BINDINGS, "CH1", count)?;
                assert_eq!(first, 1, "{name}");
                let before = tx.statements_run();
                let again = tx.derived_memo::<BindingRow, i64>(BINDINGS, "CH1", count)?;
                assert_eq!(again, 1, "{name}");
                assert_eq!(
                    tx.statements_run() - before,
                    if sqlite { 0 } else { 1 },
                    "{name}: statements for the second read"
                );
                // A write to the table forgets it …
                tx.insert(&binding("MB2", "+15550002"))?;
                let after_insert = tx.derived_memo::<BindingRow, i64>(BINDINGS, "CH1", count)?;
                assert_eq!(after_insert, 2, "{name}: after an insert");
                // … and `remember` after a write sets what it answers (on SQLite; on
                // PostgreSQL the query runs again and finds the same).
                tx.insert(&binding("MB3", "+15550003"))?;
                tx.remember::<BindingRow, i64>(BINDINGS, "CH1", 3);
                let before = tx.statements_run();
                let remembered = tx.derived_memo::<BindingRow, i64>(BINDINGS, "CH1", count)?;
                assert_eq!(remembered, 3, "{name}: after remember");
                assert_eq!(
                    tx.statements_run() - before,
                    if sqlite { 0 } else { 1 },
                    "{name}: statements after remember"
                );
                Ok(())
            })
            .await
            .unwrap();
    }
}

/// `find_all_memo` and `get_memo` answer a second read from memory (on SQLite) and never
/// answer stale: after any write to the table (insert, update, delete, by record or by plain
/// statement) they read again, and writes to other tables or reads leave them be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memos_follow_the_units_own_writes() {
    const BY_CONVERSATION: &str = "conversation_sid = ?1";
    fn participants(rows: &[BindingRow]) -> Vec<&str> {
        rows.iter().map(|b| b.participant_sid.as_str()).collect()
    }
    for db in backends() {
        let name = db.name;
        let sqlite = name == "sqlite";
        db.store
            .write(move |tx| -> R<()> {
                tx.insert(&conversation("CH1", None))?;
                tx.insert(&binding("MB1", "+15550001"))?;
                let first = tx.find_all_memo::<BindingRow>(BY_CONVERSATION, "CH1")?;
                assert_eq!(participants(&first), ["MB1"], "{name}");

                // Another table written, this one read: still remembered.
                tx.insert(&execution("FN1", "active"))?;
                tx.count::<BindingRow>("1 = 1", &[])?;
                let before = tx.statements_run();
                let again = tx.find_all_memo::<BindingRow>(BY_CONVERSATION, "CH1")?;
                assert_eq!(participants(&again), ["MB1"], "{name}");
                let read_again = tx.statements_run() - before;
                assert_eq!(
                    read_again,
                    if sqlite { 0 } else { 1 },
                    "{name}: statements for the second read"
                );
                if sqlite {
                    assert!(
                        std::sync::Arc::ptr_eq(&first, &again),
                        "{name}: a remembered answer is shared, not copied"
                    );
                }
                // Another key is read, not taken from CH1's memo.
                assert!(
                    tx.find_all_memo::<BindingRow>(BY_CONVERSATION, "CH2")?
                        .is_empty(),
                    "{name}"
                );

                tx.insert(&binding("MB2", "+15550002"))?;
                let inserted = tx.find_all_memo::<BindingRow>(BY_CONVERSATION, "CH1")?;
                assert_eq!(
                    participants(&inserted),
                    ["MB1", "MB2"],
                    "{name}: after an insert"
                );

                tx.execute(
                    "UPDATE bindings SET address = ?1 WHERE participant_sid = ?2",
                    &[Param::Text("+15559999"), Param::Text("MB2")],
                )?;
                let updated = tx.find_all_memo::<BindingRow>(BY_CONVERSATION, "CH1")?;
                assert_eq!(updated[1].address, "+15559999", "{name}: after an update");

                tx.delete::<BindingRow>("MB1")?;
                let deleted = tx.find_all_memo::<BindingRow>(BY_CONVERSATION, "CH1")?;
                assert_eq!(participants(&deleted), ["MB2"], "{name}: after a delete");

                let read = tx.get_memo::<ConversationRow>("CH1")?.expect("inserted");
                let mut closed = (*read).clone();
                closed.state = "closed".into();
                tx.update_changed(&*read, &closed)?;
                let fresh = tx.get_memo::<ConversationRow>("CH1")?.expect("still there");
                assert_eq!(fresh.state, "closed", "{name}: after update_changed");
                let locked: ConversationRow = tx.get_for_update("CH1")?.expect("still there");
                assert_eq!(
                    locked.state, "closed",
                    "{name}: get_for_update after the update"
                );
                Ok(())
            })
            .await
            .unwrap();
    }
}

/// On SQLite the writer remembers reads across units (`memo` in the store), once a key has
/// come up twice: a later unit reads again only what a write since may have changed: a
/// record written in the same group (conversation), a plain statement on the table, a unit
/// that rolled back after reading what it had written, or another connection's commit. PostgreSQL reads every
/// time. Each step's reads must see exactly the committed rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_remembers_reads_across_units_until_a_write_may_change_them() {
    const BY_CONVERSATION: &str = "conversation_sid = ?1";
    fn participant(sid: &str, conversation: &str) -> ParticipantRow {
        ParticipantRow {
            seq: 0,
            sid: sid.into(),
            account_sid: "AC1".into(),
            service_sid: "IS1".into(),
            conversation_sid: conversation.into(),
            identity: Some(sid.to_lowercase()),
            user_sid: None,
            address: None,
            proxy_address: None,
            projected_address: None,
            channel_type: Some("chat".into()),
            attributes: "{}".into(),
            role_sid: None,
            last_read_message_index: None,
            last_read_timestamp: None,
            notification_level: None,
            date_created: 1,
            date_updated: 1,
        }
    }
    /// The participants of CH1 and CH2 as a new unit reads them, and the statements it ran.
    async fn read(store: &Store) -> (Vec<String>, Vec<String>, u64) {
        store
            .write(|tx| -> R<_> {
                let before = tx.statements_run();
                let sids = |rows: std::sync::Arc<[ParticipantRow]>| {
                    rows.iter().map(|p| p.sid.clone()).collect()
                };
                let one = sids(tx.find_all_memo::<ParticipantRow>(BY_CONVERSATION, "CH1")?);
                let two = sids(tx.find_all_memo::<ParticipantRow>(BY_CONVERSATION, "CH2")?);
                Ok((one, two, tx.statements_run() - before))
            })
            .await
            .unwrap()
    }
    /// What `read` answers when CH1 holds `one` and CH2 `two` and it ran `statements`.
    fn seen(one: &[&str], two: &[&str], statements: u64) -> (Vec<String>, Vec<String>, u64) {
        let sids = |s: &[&str]| s.iter().map(|s| s.to_string()).collect();
        (sids(one), sids(two), statements)
    }
    for db in backends() {
        let name = db.name;
        let sqlite = name == "sqlite";
        let (s, ran) = (&db.store, |n: u64| if sqlite { n } else { 2 });
        s.write(|tx| -> R<()> {
            tx.insert(&participant("MB1", "CH1"))?;
            tx.insert(&participant("MB2", "CH2"))?;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(read(s).await, seen(&["MB1"], &["MB2"], 2), "{name}");
        // The writer keeps an answer once its key comes up a second time (a first contact
        // fills nothing that nobody reads again) …
        assert_eq!(read(s).await, seen(&["MB1"], &["MB2"], 2), "{name}");
        // … and from then on, with nothing written since, answers from memory (across
        // units and batches).
        assert_eq!(read(s).await, seen(&["MB1"], &["MB2"], ran(0)), "{name}");

        // A record written in CH1 forgets CH1's memo only; a write to another table
        // forgets nothing of this one.
        s.write(|tx| -> R<()> {
            tx.insert(&participant("MB3", "CH1"))?;
            tx.insert(&execution("FN1", "active"))?;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(
            read(s).await,
            seen(&["MB1", "MB3"], &["MB2"], ran(1)),
            "{name}: only CH1 read again"
        );

        // An update by record: the row's group forgotten.
        s.write(|tx| -> R<()> {
            let before: ParticipantRow = tx.get("MB2")?.expect("inserted");
            let mut after = before.clone();
            after.identity = Some("renamed".into());
            tx.update_changed(&before, &after)?;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(
            read(s).await.2,
            ran(1),
            "{name}: CH2 read again after its update"
        );

        // A plain statement forgets the whole table.
        s.write(|tx| -> R<usize> {
            tx.execute(
                "UPDATE participants SET attributes = '{\"a\":1}' WHERE sid = 'MB1'",
                &[],
            )
        })
        .await
        .unwrap();
        assert_eq!(
            read(s).await.2,
            ran(2),
            "{name}: both read again after a plain update"
        );

        // A unit that reads what it has just written, then fails: its write is undone, and
        // so is what the memo learnt from it.
        let failed = s
            .write(|tx| -> R<()> {
                tx.insert(&participant("MB9", "CH2"))?;
                let seen = tx.find_all_memo::<ParticipantRow>(BY_CONVERSATION, "CH2")?;
                assert_eq!(seen.len(), 2);
                Err(StoreError::Conflict("changed its mind".into()))
            })
            .await;
        assert!(failed.is_err(), "{name}");
        let (one, two, _) = read(s).await;
        assert_eq!(
            (one, two, 0),
            seen(&["MB1", "MB3"], &["MB2"], 0),
            "{name}: the rolled-back participant is not remembered"
        );

        // Another connection writes to the file (an operator's sqlite3 shell).
        if let Guard::Sqlite(path) = &db._guard {
            let other = rusqlite::Connection::open(path).unwrap();
            other
                .execute("DELETE FROM participants WHERE sid = 'MB3'", [])
                .unwrap();
            drop(other);
            let (one, _, n) = read(s).await;
            assert_eq!(
                one,
                vec!["MB1".to_string()],
                "{name}: another connection's delete"
            );
            assert_eq!(n, 2, "{name}: everything read again");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_rolls_the_unit_back() {
    for db in backends() {
        let out = db
            .store
            .write(|tx| -> R<()> {
                tx.insert(&conversation("CH1", None))?;
                Err(StoreError::Corrupt("changed my mind".into()))
            })
            .await;
        assert!(out.is_err());
        let n = db
            .store
            .read(|tx| -> R<i64> { tx.count::<ConversationRow>("1 = 1", &[]) })
            .await
            .unwrap();
        assert_eq!(n, 0, "{}", db.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_seq_both_ways() {
    for db in backends() {
        let name = db.name;
        db.store
            .write(|tx| -> R<()> {
                for i in 0..25 {
                    tx.insert(&conversation(&format!("CH{i:02}"), None))?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let page = |req: PageRequest| {
            let store = db.store.clone();
            async move {
                store
                    .read(move |tx| -> R<_> {
                        let p = tx.page::<ConversationRow>(
                            "account_sid = ?1",
                            &[Param::Text("AC1")],
                            &req,
                        )?;
                        let sids: Vec<String> = p.items.iter().map(|c| c.sid.clone()).collect();
                        let last = p.items.last().map(|c| c.seq);
                        let first = p.items.first().map(|c| c.seq);
                        Ok((sids, p.has_next, first, last))
                    })
                    .await
                    .unwrap()
            }
        };
        let (sids, more, _, last) = page(PageRequest::first(10)).await;
        assert_eq!(sids.first().map(String::as_str), Some("CH00"), "{name}");
        assert_eq!((sids.len(), more), (10, true), "{name}");
        let (sids2, _, first2, _) = page(PageRequest {
            size: 10,
            cursor: Cursor::After(last.unwrap()),
            descending: false,
        })
        .await;
        assert_eq!(sids2[0], "CH10", "{name}");
        let (sids3, more3, _, _) = page(PageRequest {
            size: 10,
            cursor: Cursor::After(20),
            descending: false,
        })
        .await;
        assert!(sids3.len() <= 10 && !more3, "{name}");
        let (back, _, _, _) = page(PageRequest {
            size: 10,
            cursor: Cursor::Before(first2.unwrap()),
            descending: false,
        })
        .await;
        assert_eq!(
            back, sids,
            "{name}: the page before the second is the first"
        );
        let (desc, _, _, _) = page(PageRequest {
            size: 5,
            cursor: Cursor::Start,
            descending: true,
        })
        .await;
        assert_eq!(desc, ["CH24", "CH23", "CH22", "CH21", "CH20"], "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_indexes_are_named_and_the_unit_goes_on() {
    for db in backends() {
        let name = db.name;
        // The caller reads the row in the way after the refusal, in the same unit.
        let (err, holder) = db
            .store
            .write(|tx| -> R<_> {
                tx.insert(&binding("MB1", "+15550001"))?;
                let err = tx.insert(&binding("MB2", "+15550001")).unwrap_err();
                let holder = tx.find::<BindingRow>(
                    "account_sid = ?1 AND address = ?2",
                    &[Param::Text("AC1"), Param::Text("+15550001")],
                )?;
                tx.insert(&binding("MB3", "+15550002"))?;
                Ok((err, holder.map(|b| b.participant_sid)))
            })
            .await
            .unwrap();
        assert!(
            matches!(&err, StoreError::Unique(ix) if ix == schema::BINDING_PAIR),
            "{name}: {err:?}"
        );
        assert_eq!(holder.as_deref(), Some("MB1"), "{name}");
        let n = db
            .store
            .read(|tx| -> R<i64> { tx.count::<BindingRow>("1 = 1", &[]) })
            .await
            .unwrap();
        assert_eq!(n, 2, "{name}: the refused row is not there, the others are");

        // Partial indexes: only named conversations, only active executions.
        let out = db
            .store
            .write(|tx| -> R<_> {
                tx.insert(&conversation("CH1", None))?;
                tx.insert(&conversation("CH2", None))?;
                tx.insert(&conversation("CH3", Some("u")))?;
                let dup_name = tx.insert(&conversation("CH4", Some("u"))).unwrap_err();
                tx.insert(&execution("FN1", "ended"))?;
                tx.insert(&execution("FN2", "ended"))?;
                tx.insert(&execution("FN3", "active"))?;
                let dup_active = tx.insert(&execution("FN4", "active")).unwrap_err();
                Ok((dup_name, dup_active))
            })
            .await
            .unwrap();
        assert!(
            matches!(&out.0, StoreError::Unique(ix) if ix == schema::CONVERSATION_UNIQUE_NAME),
            "{name}: {:?}",
            out.0
        );
        assert!(
            matches!(&out.1, StoreError::Unique(ix) if ix == schema::EXECUTION_ACTIVE_CONTACT),
            "{name}: {:?}",
            out.1
        );

        // An update that breaks an index is refused with the index's name too.
        let err = db
            .store
            .write(|tx| -> R<bool> {
                let mut c = tx.get::<ConversationRow>("CH1")?.expect("CH1");
                c.unique_name = Some("u".into());
                tx.update(&c)
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Unique(ix) if ix == schema::CONVERSATION_UNIQUE_NAME),
            "{name}: {err:?}"
        );
    }
}
