//! The gallery walked page by page through the handler: every render
//! exactly once, in (created_at desc, id desc) order, with thousands of equal
//! timestamps, alone and with filters.

mod support;

use support::{bulk_renders, expected_ids, walk};
use testkit::TestStack;

#[tokio::test]
async fn ten_thousand_renders_walk_once_each_in_order() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let other = stack.create_user().await;
    // 20 distinct timestamps: each is shared by 500 renders.
    bulk_renders(&stack, &user, 10_000, 20).await;
    bulk_renders(&stack, &other, 50, 20).await;

    let served = walk(&stack, &user, "/renders", 100).await;
    let expected = expected_ids(&stack, &user, "true").await;
    assert_eq!(expected.len(), 10_000);
    assert_eq!(served.len(), 10_000, "every render once");
    assert!(served == expected, "in (created_at desc, id desc) order, none repeated or skipped");
}

#[tokio::test]
async fn filters_combine_with_pagination() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    bulk_renders(&stack, &user, 1_200, 20).await;

    for (query, filter) in [
        ("mode=staging", "r.mode = 'staging'"),
        ("style=modern&roomType=kitchen", "r.style = 'modern' and r.room_type = 'kitchen'"),
        (
            "mode=compose&style=modern&roomType=bedroom",
            "r.mode = 'compose' and r.style = 'modern' and r.room_type = 'bedroom'",
        ),
    ] {
        let expected = expected_ids(&stack, &user, filter).await;
        assert!(expected.len() > 50, "{query}: enough rows for several pages");
        assert_eq!(walk(&stack, &user, &format!("/renders?{query}"), 37).await, expected, "{query}");
    }

    // A collection of 250 of them, every third render, walked with a filter on top.
    let collection: uuid::Uuid = stack
        .app
        .admin()
        .query_one("insert into public.collections (owner_id, name) values ($1, 'Picks') returning id", &[&user.id])
        .await
        .unwrap()
        .get(0);
    stack
        .app
        .admin()
        .execute(
            "insert into public.collection_items (collection_id, render_id)
             select $1, id from (select id, row_number() over (order by id) n from public.renders where owner_id = $2) r
              where n % 3 = 0 limit 250",
            &[&collection, &user.id],
        )
        .await
        .unwrap();
    let in_collection = format!("exists(select 1 from public.collection_items ci where ci.collection_id = '{collection}' and ci.render_id = r.id)");
    let expected = expected_ids(&stack, &user, &in_collection).await;
    assert_eq!(expected.len(), 250);
    assert_eq!(walk(&stack, &user, &format!("/renders?collectionId={collection}"), 100).await, expected);
    let expected = expected_ids(&stack, &user, &format!("{in_collection} and r.style = 'modern'")).await;
    assert_eq!(walk(&stack, &user, &format!("/renders?collectionId={collection}&style=modern"), 10).await, expected);
}
