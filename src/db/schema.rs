// One schema for both backends: only types SQLite and PostgreSQL share.
// Keep in step with migrations/{sqlite,postgres}.

diesel::table! {
    instance_settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        username -> Text,
        domain -> Nullable<Text>,
        actor_type -> Text,
        uri -> Text,
        url -> Nullable<Text>,
        display_name -> Text,
        note -> Text,
        fields -> Text,
        avatar_url -> Nullable<Text>,
        header_url -> Nullable<Text>,
        inbox_url -> Nullable<Text>,
        outbox_url -> Nullable<Text>,
        shared_inbox_url -> Nullable<Text>,
        followers_url -> Nullable<Text>,
        following_url -> Nullable<Text>,
        public_key_pem -> Nullable<Text>,
        private_key_pem -> Nullable<Text>,
        public_key_id -> Nullable<Text>,
        locked -> Bool,
        discoverable -> Bool,
        bot -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        fetched_at -> Nullable<Timestamp>,
        suspended_at -> Nullable<Timestamp>,
        silenced_at -> Nullable<Timestamp>,
        statuses_count -> BigInt,
        followers_count -> BigInt,
        following_count -> BigInt,
        last_status_at -> Nullable<Timestamp>,
        indexable -> Bool,
    }
}

diesel::table! {
    sensitized_accounts (account_id) {
        account_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    admin_action_logs (id) {
        id -> BigInt,
        account_id -> BigInt,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        account_id -> BigInt,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        disabled -> Bool,
        approved -> Bool,
        confirmed_at -> Nullable<Timestamp>,
        locale -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_sign_in_at -> Nullable<Timestamp>,
        sign_up_reason -> Nullable<Text>,
        invite_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    follows (id) {
        id -> BigInt,
        account_id -> BigInt,
        target_account_id -> BigInt,
        uri -> Nullable<Text>,
        pending -> Bool,
        show_reblogs -> Bool,
        notify -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    statuses (id) {
        id -> BigInt,
        uri -> Text,
        url -> Nullable<Text>,
        account_id -> BigInt,
        local -> Bool,
        visibility -> Text,
        text -> Nullable<Text>,
        content -> Text,
        spoiler_text -> Text,
        sensitive -> Bool,
        language -> Nullable<Text>,
        in_reply_to_id -> Nullable<BigInt>,
        in_reply_to_uri -> Nullable<Text>,
        in_reply_to_account_id -> Nullable<BigInt>,
        reblog_of_id -> Nullable<BigInt>,
        replies_count -> BigInt,
        reblogs_count -> BigInt,
        favourites_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        edited_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    domain_policies (domain) {
        domain -> Text,
        policy -> Text,
        comment -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    received_activities (ap_id) {
        ap_id -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    deliveries (id) {
        id -> BigInt,
        activity_id -> Text,
        sender_account_id -> BigInt,
        inbox -> Text,
        payload -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        host -> Text,
    }
}

diesel::table! {
    delivery_hosts (host) {
        host -> Text,
        failing_since -> Nullable<Timestamp>,
        unreachable_since -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
        last_probe_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    inbound_activities (id) {
        id -> BigInt,
        ap_id -> Text,
        body -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    favourites (id) {
        id -> BigInt,
        account_id -> BigInt,
        status_id -> BigInt,
        uri -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    mentions (id) {
        id -> BigInt,
        status_id -> BigInt,
        account_id -> BigInt,
    }
}

diesel::table! {
    status_tags (status_id, tag) {
        status_id -> BigInt,
        tag -> Text,
    }
}

diesel::table! {
    status_edits (id) {
        id -> BigInt,
        status_id -> BigInt,
        content -> Text,
        spoiler_text -> Text,
        sensitive -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    blocks (id) {
        id -> BigInt,
        account_id -> BigInt,
        target_account_id -> BigInt,
        uri -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    oauth_applications (id) {
        id -> BigInt,
        name -> Text,
        website -> Nullable<Text>,
        redirect_uris -> Text,
        scopes -> Text,
        client_id -> Text,
        client_secret_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    oauth_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        application_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        scopes -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    oauth_codes (id) {
        id -> BigInt,
        code_hash -> Text,
        application_id -> BigInt,
        user_id -> BigInt,
        redirect_uri -> Text,
        scopes -> Text,
        code_challenge -> Nullable<Text>,
        code_challenge_method -> Nullable<Text>,
        expires_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        account_id -> BigInt,
        from_account_id -> BigInt,
        kind -> Text,
        status_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        report_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    idempotency_keys (account_id, key) {
        account_id -> BigInt,
        key -> Text,
        status_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    bookmarks (id) {
        id -> BigInt,
        account_id -> BigInt,
        status_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    mutes (id) {
        id -> BigInt,
        account_id -> BigInt,
        target_account_id -> BigInt,
        hide_notifications -> Bool,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    lists (id) {
        id -> BigInt,
        account_id -> BigInt,
        title -> Text,
        replies_policy -> Text,
        exclusive -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    list_accounts (list_id, account_id) {
        list_id -> BigInt,
        account_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    status_pins (id) {
        id -> BigInt,
        account_id -> BigInt,
        status_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    markers (account_id, timeline) {
        account_id -> BigInt,
        timeline -> Text,
        last_read_id -> BigInt,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    invites (id) {
        id -> BigInt,
        code -> Text,
        created_by -> Nullable<BigInt>,
        max_uses -> Nullable<Integer>,
        uses -> Integer,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    group_settings (account_id) {
        account_id -> BigInt,
        closed -> Bool,
        announcement_only -> Bool,
        owner_account_id -> Nullable<BigInt>,
        moderators_url -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    group_moderators (group_id, account_id) {
        group_id -> BigInt,
        account_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    group_posts (status_id, group_id) {
        status_id -> BigInt,
        group_id -> BigInt,
        announce_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    polls (id) {
        id -> BigInt,
        status_id -> BigInt,
        expires_at -> Nullable<Timestamp>,
        multiple -> Bool,
        hide_totals -> Bool,
        votes_count -> BigInt,
        voters_count -> BigInt,
        ended_notified -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    poll_options (poll_id, idx) {
        poll_id -> BigInt,
        idx -> Integer,
        title -> Text,
        votes_count -> BigInt,
    }
}

diesel::table! {
    poll_votes (id) {
        id -> BigInt,
        poll_id -> BigInt,
        account_id -> BigInt,
        choice -> Integer,
        uri -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    media_attachments (id) {
        id -> BigInt,
        account_id -> BigInt,
        status_id -> Nullable<BigInt>,
        kind -> Text,
        content_type -> Text,
        state -> Text,
        file_key -> Nullable<Text>,
        file_size -> BigInt,
        thumb_key -> Nullable<Text>,
        width -> Nullable<Integer>,
        height -> Nullable<Integer>,
        thumb_width -> Nullable<Integer>,
        thumb_height -> Nullable<Integer>,
        blurhash -> Nullable<Text>,
        description -> Text,
        focus_x -> Double,
        focus_y -> Double,
        remote_url -> Nullable<Text>,
        error -> Nullable<Text>,
        position -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    filters (id) {
        id -> BigInt,
        account_id -> BigInt,
        title -> Text,
        context -> Text,
        action -> Text,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    filter_keywords (id) {
        id -> BigInt,
        filter_id -> BigInt,
        keyword -> Text,
        whole_word -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    filter_statuses (id) {
        id -> BigInt,
        filter_id -> BigInt,
        status_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(filter_keywords -> filters (filter_id));
diesel::joinable!(filter_statuses -> filters (filter_id));
diesel::joinable!(poll_options -> polls (poll_id));
diesel::joinable!(poll_votes -> polls (poll_id));
diesel::joinable!(polls -> statuses (status_id));
diesel::joinable!(users -> accounts (account_id));
diesel::joinable!(status_pins -> statuses (status_id));
diesel::joinable!(list_accounts -> lists (list_id));
diesel::joinable!(list_accounts -> accounts (account_id));
diesel::joinable!(bookmarks -> statuses (status_id));
diesel::joinable!(statuses -> accounts (account_id));

diesel::table! {
    conversations (id) {
        id -> BigInt,
        account_id -> BigInt,
        thread_uri -> Text,
        participant_ids -> Text,
        last_status_id -> BigInt,
        unread -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    conversation_statuses (conversation_id, status_id) {
        conversation_id -> BigInt,
        status_id -> BigInt,
    }
}

diesel::table! {
    reports (id) {
        id -> BigInt,
        uri -> Nullable<Text>,
        account_id -> BigInt,
        target_account_id -> BigInt,
        status_ids -> Text,
        comment -> Text,
        category -> Text,
        forwarded -> Bool,
        action_taken_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        assigned_account_id -> Nullable<BigInt>,
        action_taken_by_account_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    domain_media_rejections (domain) {
        domain -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(conversation_statuses -> conversations (conversation_id));
diesel::joinable!(favourites -> statuses (status_id));
diesel::joinable!(status_tags -> statuses (status_id));

diesel::table! {
    profile_fields (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        choices -> Text,
        managed -> Bool,
        position -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    skill_synonyms (alias) {
        alias -> Text,
        skill -> Text,
    }
}

diesel::table! {
    profile_terms (account_id, field, term) {
        account_id -> BigInt,
        field -> Text,
        term -> Text,
        display -> Text,
    }
}

diesel::table! {
    profile_vocabulary (term) {
        term -> Text,
    }
}

diesel::table! {
    job_leases (name) {
        name -> Text,
        holder -> Text,
        until -> Timestamp,
    }
}

diesel::table! {
    directory_peers (domain) {
        domain -> Text,
        share -> Bool,
        read -> Bool,
        collection_url -> Nullable<Text>,
        cursor -> Nullable<Text>,
        last_full_at -> Nullable<Timestamp>,
        last_sync_at -> Nullable<Timestamp>,
        last_result -> Text,
    }
}

diesel::table! {
    directory_entries (account_id) {
        account_id -> BigInt,
        domain -> Text,
        seen_at -> Timestamp,
    }
}

diesel::table! {
    status_search (status_id) {
        status_id -> BigInt,
        body -> Text,
        has_link -> Bool,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    featured_tags (id) {
        id -> BigInt,
        account_id -> BigInt,
        name -> Text,
        display_name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    web_sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        method -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    oidc_logins (state_hash) {
        state_hash -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        return_to -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    user_identities (id) {
        id -> BigInt,
        user_id -> BigInt,
        provider -> Text,
        subject -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    scim_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    scim_users (user_id) {
        user_id -> BigInt,
        user_name -> Text,
        external_id -> Nullable<Text>,
        data -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    scim_groups (id) {
        id -> BigInt,
        display_name -> Text,
        external_id -> Nullable<Text>,
        data -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    scim_group_members (group_id, user_id) {
        group_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::joinable!(scim_group_members -> scim_groups (group_id));
diesel::joinable!(scim_group_members -> users (user_id));
diesel::joinable!(scim_users -> users (user_id));
diesel::joinable!(web_sessions -> users (user_id));
diesel::joinable!(user_identities -> users (user_id));
diesel::joinable!(profile_terms -> accounts (account_id));
diesel::joinable!(featured_tags -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    scim_groups,
    scim_group_members,
    scim_tokens,
    scim_users,
    web_sessions,
    oidc_logins,
    user_identities,
    instance_settings,
    featured_tags,
    tags,
    status_search,
    directory_peers,
    directory_entries,
    job_leases,
    accounts,
    users,
    follows,
    statuses,
    domain_policies,
    received_activities,
    deliveries,
    favourites,
    mentions,
    status_tags,
    status_edits,
    blocks,
    oauth_applications,
    oauth_tokens,
    oauth_codes,
    notifications,
    idempotency_keys,
    bookmarks,
    mutes,
    lists,
    list_accounts,
    status_pins,
    markers,
    invites,
    group_settings,
    group_moderators,
    group_posts,
    admin_action_logs,
    sensitized_accounts,
    delivery_hosts,
    inbound_activities,
    polls,
    poll_options,
    poll_votes,
    media_attachments,
    filters,
    filter_keywords,
    filter_statuses,
    conversations,
    conversation_statuses,
    reports,
    domain_media_rejections,
    profile_fields,
    skill_synonyms,
    profile_terms,
    profile_vocabulary,
);

diesel::table! {
    insight_runs (id) {
        id -> BigInt,
        started_at -> Timestamp,
        finished_at -> Timestamp,
        window_days -> BigInt,
        people -> BigInt,
        partner_people -> BigInt,
        ties -> BigInt,
        sources -> BigInt,
        exact -> Bool,
        duration_ms -> BigInt,
    }
}

diesel::table! {
    insight_people (run_id, account_id) {
        run_id -> BigInt,
        account_id -> BigInt,
        department -> Text,
        degree -> BigInt,
        strength -> Double,
        betweenness -> Double,
        bridging -> Double,
        participation_department -> Double,
        participation_instance -> Double,
        constraint_score -> Nullable<Double>,
        effective_size -> Double,
        cut_off -> BigInt,
    }
}

diesel::table! {
    insight_ties (run_id, kind, a, b) {
        run_id -> BigInt,
        kind -> Text,
        a -> Text,
        b -> Text,
        ties -> BigInt,
        weight -> Double,
    }
}

diesel::table! {
    insight_units (run_id, kind, unit) {
        run_id -> BigInt,
        kind -> Text,
        unit -> Text,
        people -> BigInt,
    }
}

diesel::table! {
    suggestion_lists (account_id) {
        account_id -> BigInt,
        people -> Text,
        group_list -> Text,
        computed_at -> Timestamp,
    }
}

diesel::table! {
    suggestion_dismissals (account_id, target_account_id) {
        account_id -> BigInt,
        target_account_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    featured_suggestions (account_id) {
        account_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(insight_people -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(insight_people, accounts);
diesel::allow_tables_to_appear_in_same_query!(featured_suggestions, accounts);

diesel::table! {
    announcements (id) {
        id -> BigInt,
        text -> Text,
        content -> Text,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        all_day -> Bool,
        published_at -> Nullable<Timestamp>,
        mention_ids -> Text,
        status_ids -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        streamed -> Text,
        stream_pending -> Bool,
    }
}

diesel::table! {
    announcement_dismissals (announcement_id, account_id) {
        announcement_id -> BigInt,
        account_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    announcement_reactions (announcement_id, account_id, name) {
        announcement_id -> BigInt,
        account_id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tag_follows (id) {
        id -> BigInt,
        account_id -> BigInt,
        tag -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    group_invites (group_id, account_id) {
        group_id -> BigInt,
        account_id -> BigInt,
        invited_by -> BigInt,
        created_at -> Timestamp,
    }
}
diesel::allow_tables_to_appear_in_same_query!(group_invites, accounts);

diesel::table! {
    accepted_answers (status_id) {
        status_id -> BigInt,
        reply_id -> BigInt,
        accepted_by -> Nullable<BigInt>,
        boost_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}
diesel::allow_tables_to_appear_in_same_query!(accepted_answers, statuses);

diesel::table! {
    trend_tags (tag) {
        tag -> Text,
        score -> Double,
        accounts -> BigInt,
        uses -> BigInt,
        history -> Text,
        computed_at -> Timestamp,
    }
}

diesel::table! {
    trend_statuses (status_id) {
        status_id -> BigInt,
        score -> Double,
        computed_at -> Timestamp,
    }
}

diesel::table! {
    trend_hidden_tags (tag) {
        tag -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    preview_cards (id) {
        id -> BigInt,
        url -> Text,
        state -> Text,
        card_type -> Text,
        title -> Text,
        description -> Text,
        author_name -> Text,
        author_url -> Text,
        provider_name -> Text,
        provider_url -> Text,
        html -> Text,
        width -> Integer,
        height -> Integer,
        embed_url -> Text,
        image_key -> Nullable<Text>,
        image_width -> Nullable<Integer>,
        image_height -> Nullable<Integer>,
        blurhash -> Nullable<Text>,
        language -> Nullable<Text>,
        published_at -> Nullable<Timestamp>,
        error -> Nullable<Text>,
        attempts -> Integer,
        claimed_at -> Nullable<Timestamp>,
        fetched_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    status_cards (status_id) {
        status_id -> BigInt,
        card_id -> BigInt,
    }
}

diesel::table! {
    trend_links (card_id) {
        card_id -> BigInt,
        score -> Double,
        accounts -> BigInt,
        uses -> BigInt,
        history -> Text,
        computed_at -> Timestamp,
    }
}

diesel::table! {
    trend_hidden_links (url) {
        url -> Text,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(status_cards, preview_cards);
diesel::allow_tables_to_appear_in_same_query!(trend_links, preview_cards);
diesel::allow_tables_to_appear_in_same_query!(status_cards, statuses);

diesel::table! {
    relays (id) {
        id -> BigInt,
        inbox_url -> Text,
        actor_uri -> Nullable<Text>,
        state -> Text,
        follow_id -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
