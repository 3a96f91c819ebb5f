package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/liveshop/liveshop/commerce"
)

const shopColumns = "s.id, s.owner_id, s.handle, s.name, s.description, s.currency, s.logo_image, s.created_at, s.updated_at"

func scanShop(scan func(...any) error) (commerce.Shop, error) {
	var s commerce.Shop
	var created, updated int64
	err := scan(&s.ID, &s.OwnerID, &s.Handle, &s.Name, &s.Description, &s.Currency, &s.Logo, &created, &updated)
	s.LogoURL = commerce.ImageURL(s.Logo)
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	return s, err
}

func (c conn) shopWhere(ctx context.Context, where string, args ...any) (commerce.Shop, error) {
	return scanShop(func(dest ...any) error {
		return c.get(ctx, "SELECT "+shopColumns+" FROM shops s WHERE "+where, args, dest...)
	})
}

func (c conn) shops(ctx context.Context, query string, args ...any) ([]commerce.Shop, error) {
	return queryAll(ctx, c, scanShop, query, args...)
}

// CreateShop implements commerce.ShopStore.
func (db *DB) CreateShop(ctx context.Context, s *commerce.Shop) error {
	err := db.get(ctx, `INSERT INTO shops (owner_id, handle, name, description, currency, logo_image, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		[]any{s.OwnerID, s.Handle, s.Name, s.Description, s.Currency, s.Logo, micros(s.CreatedAt), micros(s.UpdatedAt)}, &s.ID)
	if isUniqueViolation(err) {
		if _, err := db.ShopByOwner(ctx, s.OwnerID); err == nil {
			return commerce.ErrShopExists
		}
		return commerce.ErrHandleTaken
	}
	if err != nil {
		return fmt.Errorf("insert shop: %w", err)
	}
	return nil
}

// ShopByID implements commerce.ShopStore.
func (db *DB) ShopByID(ctx context.Context, id int64) (commerce.Shop, error) {
	return db.shopWhere(ctx, "s.id = ?", id)
}

// ShopByHandle implements commerce.ShopStore.
func (db *DB) ShopByHandle(ctx context.Context, handle string) (commerce.Shop, error) {
	return db.shopWhere(ctx, "s.handle = ?", handle)
}

// ShopByOwner implements commerce.ShopStore.
func (db *DB) ShopByOwner(ctx context.Context, ownerID int64) (commerce.Shop, error) {
	return db.shopWhere(ctx, "s.owner_id = ?", ownerID)
}

// ListShops implements commerce.ShopStore.
func (db *DB) ListShops(ctx context.Context, beforeID int64, limit int) ([]commerce.Shop, error) {
	if beforeID <= 0 {
		beforeID = maxID
	}
	return db.shops(ctx, "SELECT "+shopColumns+" FROM shops s WHERE s.id < ? ORDER BY s.id DESC LIMIT ?", beforeID, limit)
}

// UpdateShop implements commerce.ShopStore.
func (db *DB) UpdateShop(ctx context.Context, s commerce.Shop) error {
	return db.expectOne(db.exec(ctx, `UPDATE shops SET name = ?, description = ?, logo_image = ?, updated_at = ? WHERE id = ?`,
		s.Name, s.Description, s.Logo, micros(s.UpdatedAt), s.ID))
}

// RemoveModerator implements commerce.ShopStore.
func (db *DB) RemoveModerator(ctx context.Context, shopID, accountID int64) error {
	return db.expectOne(db.exec(ctx, "DELETE FROM shop_moderators WHERE shop_id = ? AND account_id = ?", shopID, accountID))
}

// Moderators implements commerce.ShopStore.
func (db *DB) Moderators(ctx context.Context, shopID int64) ([]commerce.Moderator, error) {
	// The email shown is the one the seller typed in the invitation, never
	// the account's (audit issue 12).
	rows, err := db.query(ctx, `SELECT a.id, a.name, m.invited_email, m.appointed_by, m.created_at
		FROM shop_moderators m JOIN accounts a ON a.id = m.account_id WHERE m.shop_id = ? ORDER BY m.created_at, a.id`, shopID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []commerce.Moderator{}
	for rows.Next() {
		var m commerce.Moderator
		var at int64
		if err := rows.Scan(&m.AccountID, &m.Name, &m.Email, &m.AppointedBy, &at); err != nil {
			return nil, err
		}
		m.AppointedAt = fromMicros(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// IsModerator implements commerce.ShopStore.
func (db *DB) IsModerator(ctx context.Context, shopID, accountID int64) (bool, error) {
	var one int
	err := db.get(ctx, "SELECT 1 FROM shop_moderators WHERE shop_id = ? AND account_id = ?", []any{shopID, accountID}, &one)
	if errors.Is(err, commerce.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ModeratedShops implements commerce.ShopStore.
func (db *DB) ModeratedShops(ctx context.Context, accountID int64) ([]commerce.Shop, error) {
	return db.shops(ctx, "SELECT "+shopColumns+` FROM shops s JOIN shop_moderators m ON m.shop_id = s.id
		WHERE m.account_id = ? ORDER BY s.id`, accountID)
}

// SaveImage implements commerce.ShopStore.
func (db *DB) SaveImage(ctx context.Context, img commerce.Image) error {
	_, err := db.exec(ctx, `INSERT INTO images (name, owner_id, content_type, size, width, height, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, img.Name, img.OwnerID, img.ContentType, img.Size, img.Width, img.Height, micros(img.CreatedAt))
	return err
}

// DeleteImage implements commerce.ShopStore.
func (db *DB) DeleteImage(ctx context.Context, name string) error {
	_, err := db.exec(ctx, "DELETE FROM images WHERE name = ?", name)
	return err
}

// maxID is larger than any row ID; "below maxID" means "from the newest".
const maxID = int64(1<<63 - 1)

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
