//! [`VerificationStore`]: codes as JSON under `code:{id}`, expiring with the code. The
//! one unused code per `(purpose, email)` is named by `code-active:{purpose}:{email}`, an
//! unused link by `code-link:{purpose}:{hash}`; `codes-of:{email}` and `user:{id}:codes`
//! let a user's deletion find them, and `codes:ends` lets purges find ended ones.

use async_trait::async_trait;
use auth_core::verification::{AttemptReservation, LinkConsumption, Purpose, Verification};
use auth_core::{Email, StoreError, TokenHash, VerificationId, VerificationStore};
use redis::Pipeline;
use time::OffsetDateTime;

use crate::records::VerificationRecord;
use crate::tx::{MAX_ATTEMPTS, Tx, contention, encode};
use crate::{RedisStore, micros, millis_ceil};

impl RedisStore {
    /// Watches and reads a code.
    async fn watch_code(&self, tx: &mut Tx, id: &str) -> Result<Option<Verification>, StoreError> {
        let key = self.key(format_args!("code:{id}"));
        tx.watch_json::<VerificationRecord>(&key, "verification")
            .await?
            .map(Verification::try_from)
            .transpose()
    }

    /// Queues the write of `code` (expiring with it).
    fn queue_code_write(&self, pipe: &mut Pipeline, code: &Verification) -> Result<(), StoreError> {
        pipe.cmd("SET")
            .arg(self.code_key(code.id))
            .arg(encode(&VerificationRecord::from(code))?)
            .arg("PXAT")
            .arg(millis_ceil(code.expires_at))
            .ignore();
        Ok(())
    }

    /// Queues the deletion of `code` and its index entries; watches and reads the active
    /// pointer, which is deleted only if it names this code.
    pub(crate) async fn queue_code_removal(
        &self,
        tx: &mut Tx,
        pipe: &mut Pipeline,
        code: &Verification,
    ) -> Result<(), StoreError> {
        let id = code.id.to_string();
        self.queue_unpoint(tx, pipe, code).await?;
        pipe.cmd("DEL")
            .arg(self.code_key(code.id))
            .arg(self.code_link_key(code.purpose, &code.link_hash))
            .ignore();
        pipe.cmd("SREM")
            .arg(self.codes_of_email_key(&code.email))
            .arg(&id)
            .ignore();
        if let Some(user) = code.user_id {
            pipe.cmd("SREM")
                .arg(self.user_codes_key(user))
                .arg(&id)
                .ignore();
        }
        pipe.cmd("ZREM")
            .arg(self.codes_ends_key())
            .arg(&id)
            .ignore();
        Ok(())
    }

    /// Queues the deletion of the active pointer of `code`'s `(purpose, email)` if it
    /// still names `code`.
    async fn queue_unpoint(
        &self,
        tx: &mut Tx,
        pipe: &mut Pipeline,
        code: &Verification,
    ) -> Result<(), StoreError> {
        let active = self.code_active_key(code.purpose, &code.email);
        tx.watch(&[&active]).await?;
        if tx.get(&active).await? == Some(code.id.to_string()) {
            pipe.cmd("DEL").arg(&active).ignore();
        }
        Ok(())
    }

    /// Queues marking `code` used at `now`: it leaves the active pointer and the link
    /// index, and becomes purgeable from `now`.
    async fn queue_consume(
        &self,
        tx: &mut Tx,
        pipe: &mut Pipeline,
        code: &mut Verification,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        code.consumed_at = Some(now);
        self.queue_unpoint(tx, pipe, code).await?;
        self.queue_code_write(pipe, code)?;
        pipe.cmd("DEL")
            .arg(self.code_link_key(code.purpose, &code.link_hash))
            .ignore();
        pipe.cmd("ZADD")
            .arg(self.codes_ends_key())
            .arg(micros(now.min(code.expires_at)))
            .arg(code.id.to_string())
            .ignore();
        Ok(())
    }
}

#[async_trait]
impl VerificationStore for RedisStore {
    /// A transaction on the active pointer: the old unused code goes, the new one is
    /// written with its indexes, all expiring with it.
    async fn replace_verification(&self, verification: &Verification) -> Result<(), StoreError> {
        let v = verification;
        let active = self.code_active_key(v.purpose, &v.email);
        let id = v.id.to_string();
        let expires = millis_ceil(v.expires_at);
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            tx.watch(&[&active]).await?;
            let mut pipe = redis::pipe();
            if let Some(old_id) = tx.get(&active).await?
                && let Some(old) = self.watch_code(&mut tx, &old_id).await?
            {
                self.queue_code_removal(&mut tx, &mut pipe, &old).await?;
            }
            self.queue_code_write(&mut pipe, v)?;
            pipe.cmd("SET")
                .arg(&active)
                .arg(&id)
                .arg("PXAT")
                .arg(expires)
                .ignore();
            pipe.cmd("SET")
                .arg(self.code_link_key(v.purpose, &v.link_hash))
                .arg(&id)
                .arg("PXAT")
                .arg(expires)
                .ignore();
            pipe.cmd("SADD")
                .arg(self.codes_of_email_key(&v.email))
                .arg(&id)
                .ignore();
            if let Some(user) = v.user_id {
                pipe.cmd("SADD")
                    .arg(self.user_codes_key(user))
                    .arg(&id)
                    .ignore();
            }
            pipe.cmd("ZADD")
                .arg(self.codes_ends_key())
                .arg(micros(v.expires_at))
                .arg(&id)
                .ignore();
            if tx.exec(&mut pipe).await? {
                return Ok(());
            }
        }
        Err(contention())
    }

    /// Two reads: the active pointer, then the code it names.
    async fn active_verification(
        &self,
        email: &Email,
        purpose: Purpose,
    ) -> Result<Option<Verification>, StoreError> {
        let mut tx = self.tx().await?;
        let Some(id) = tx.get(&self.code_active_key(purpose, email)).await? else {
            return Ok(None);
        };
        let key = self.key(format_args!("code:{id}"));
        let code = tx
            .get_json::<VerificationRecord>(&key, "verification")
            .await?
            .map(Verification::try_from)
            .transpose()?;
        Ok(code.filter(|code| code.consumed_at.is_none()))
    }

    /// A transaction on the active pointer and the code: concurrent attempts serialise on
    /// the code's key, so together they never pass `max_attempts`.
    async fn reserve_code_attempt(
        &self,
        email: &Email,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> Result<AttemptReservation, StoreError> {
        let active = self.code_active_key(purpose, email);
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            tx.watch(&[&active]).await?;
            let code = match tx.get(&active).await? {
                Some(id) => self.watch_code(&mut tx, &id).await?,
                None => None,
            };
            let mut code = match code {
                Some(code) if code.consumed_at.is_none() => code,
                _ => {
                    tx.unwatch().await?;
                    return Ok(AttemptReservation::NoneActive);
                }
            };
            if now >= code.expires_at {
                tx.unwatch().await?;
                return Ok(AttemptReservation::Expired);
            }
            if code.attempts >= code.max_attempts {
                tx.unwatch().await?;
                return Ok(AttemptReservation::Exhausted);
            }
            code.attempts += 1;
            let mut pipe = redis::pipe();
            self.queue_code_write(&mut pipe, &code)?;
            if tx.exec(&mut pipe).await? {
                return Ok(AttemptReservation::Reserved(code));
            }
        }
        Err(contention())
    }

    /// A transaction on the code: exactly one concurrent caller commits.
    async fn consume_verification(
        &self,
        id: VerificationId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            let mut code = match self.watch_code(&mut tx, &id).await? {
                Some(code) if code.consumed_at.is_none() && now < code.expires_at => code,
                _ => {
                    tx.unwatch().await?;
                    return Ok(false);
                }
            };
            let mut pipe = redis::pipe();
            self.queue_consume(&mut tx, &mut pipe, &mut code, now)
                .await?;
            if tx.exec(&mut pipe).await? {
                return Ok(true);
            }
        }
        Err(contention())
    }

    /// A transaction on the link index and the code.
    async fn consume_link(
        &self,
        purpose: Purpose,
        link_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<LinkConsumption, StoreError> {
        let link = self.code_link_key(purpose, link_hash);
        let mut tx = self.tx().await?;
        for _ in 0..MAX_ATTEMPTS {
            tx.watch(&[&link]).await?;
            let code = match tx.get(&link).await? {
                Some(id) => self.watch_code(&mut tx, &id).await?,
                None => None,
            };
            let mut code = match code {
                Some(code)
                    if code.consumed_at.is_none()
                        && code.purpose == purpose
                        && code.link_hash == *link_hash =>
                {
                    code
                }
                _ => {
                    tx.unwatch().await?;
                    return Ok(LinkConsumption::Unknown);
                }
            };
            if now >= code.expires_at {
                tx.unwatch().await?;
                return Ok(LinkConsumption::Expired);
            }
            let mut pipe = redis::pipe();
            self.queue_consume(&mut tx, &mut pipe, &mut code, now)
                .await?;
            if tx.exec(&mut pipe).await? {
                return Ok(LinkConsumption::Consumed(code));
            }
        }
        Err(contention())
    }

    /// Walks `codes:ends` up to `before`; each code goes in its own transaction.
    async fn purge_verifications(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let ends = self.codes_ends_key();
        let ids = self.ended(&ends, before).await?;
        let mut purged = 0;
        let mut tx = self.tx().await?;
        'codes: for id in ids {
            for _ in 0..MAX_ATTEMPTS {
                let mut pipe = redis::pipe();
                match self.watch_code(&mut tx, &id).await? {
                    // Expired in Redis already: only the index entry is left.
                    None => {
                        pipe.cmd("ZREM").arg(&ends).arg(&id).ignore();
                    }
                    Some(code)
                        if code.expires_at < before
                            || code.consumed_at.is_some_and(|c| c < before) =>
                    {
                        self.queue_code_removal(&mut tx, &mut pipe, &code).await?;
                        if tx.exec(&mut pipe).await? {
                            purged += 1;
                            continue 'codes;
                        }
                        continue;
                    }
                    Some(_) => {
                        tx.unwatch().await?;
                        continue 'codes;
                    }
                }
                if tx.exec(&mut pipe).await? {
                    continue 'codes;
                }
            }
            return Err(contention());
        }
        Ok(purged)
    }
}
